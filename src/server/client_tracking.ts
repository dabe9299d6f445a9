/**
 * @module
 * Client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO) with Redis 7.0's
 * syntax, replies and invalidation messages. What changed comes from the node's child itself:
 * while any client tracks, the node holds one connection to its child in BCAST mode, which
 * reports every key the child modifies (writes applied from the log, expiries on the log's
 * clock, flushes). This module remembers which client read which key (default mode) or which
 * prefixes it wants (BCAST), and sends the invalidations. An invalidation goes into the
 * client's reply order after every reply already due, so a value read before a change never
 * reaches the client after that change's invalidation. CLIENT TRACKING ON answers once the
 * child reports changes. When that connection ends (the child restarted), every tracking client
 * is told to drop its whole cache (a null invalidation), and so is a client that read while it
 * was not ready yet, once it is: a change made while no one listened cannot be named.
 */
import type { ClientRegistry } from "./client_registry.ts";
import { type CommandInfo, commandKeys } from "../redis/command_table.ts";
import type { ClientSession } from "./client_session.ts";
import type { ReplySlot } from "./reply_queue.ts";
import {
  encodeArrayHeader,
  encodeBulk,
  encodeError,
  encodeInteger,
  encodeMapHeader,
  encodePushHeader,
  encodeSetHeader,
  encodeSimple,
  nullArrayFor,
} from "./replies.ts";
import { concatBytes, lowerAscii } from "../resp/bytes.ts";
import { parseRedisInteger } from "../resp/resp_integer.ts";

/** Receives what the child reports once the node opened the invalidation stream. */
export interface InvalidationSink {
  /** The child now reports every change. */
  ready(): void;
  /** Keys the child changed (views valid during the call); null: everything (FLUSHALL, ...). */
  invalidate(keys: Uint8Array[] | null): void;
  /** The stream ended (the child restarted); the opener tries again while it is wanted. */
  lost(): void;
}

export interface TrackingLimits {
  /** Keys remembered for default-mode clients (Redis's tracking-table-max-keys). */
  trackingTableMaxKeys: number;
  /** A client this far behind on its replies is disconnected rather than buffered for. */
  clientReplyBufferMaxBytes: number;
  /** Wait before reopening the child's stream after it ended. */
  reopenDelayMs: number;
}

/**
 * The keys a read-only command reads: the command table's positions, and for the commands whose
 * keys move, their own rule (Redis's getkeys procedures for them).
 */
export function trackedKeys(info: CommandInfo, args: readonly Uint8Array[]): Uint8Array[] {
  const fixed = commandKeys(info, args);
  if (fixed !== null) return fixed;
  const counted = (at: number) => {
    const count = args[at] ? Number(decoder.decode(args[at])) : 0;
    return Number.isSafeInteger(count) && count > 0 ? args.slice(at + 1, at + 1 + count) : [];
  };
  switch (info.name) {
    case "eval_ro":
    case "evalsha_ro":
    case "fcall_ro":
      return counted(2);
    case "zinter":
    case "zunion":
    case "zdiff":
    case "zintercard":
    case "sintercard":
      return counted(1);
    case "sort_ro":
      return args.length > 1 ? [args[1]] : [];
    case "xread": {
      const at = args.findIndex((arg, i) => i > 0 && lowerAscii(arg) === "streams");
      if (at < 0) return [];
      const rest = args.slice(at + 1);
      return rest.slice(0, Math.floor(rest.length / 2));
    }
  }
  return [];
}

/** Opens the stream of the child's changes (see child_invalidations.ts). */
export type OpenInvalidations = (sink: InvalidationSink) => { close(): void };

interface TrackingState {
  redirect: number;
  bcast: boolean;
  prefixes: Uint8Array[];
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes|no for the next command (or the next transaction); null: not given. */
  caching: boolean | null;
  redirectBroken: boolean;
}

const OK = encodeSimple("OK");
const syntaxError = encodeError("ERR syntax error");
const decoder = new TextDecoder();
const INVALIDATE = encodeBulk("invalidate");
const CHANNEL = "__redis__:invalidate";

/** A binary-safe map key for a Redis key. */
function keyId(key: Uint8Array): string {
  let text = "";
  for (let i = 0; i < key.length; i += 4096) {
    text += String.fromCharCode(...key.subarray(i, i + 4096));
  }
  return text;
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

export class ClientTracking {
  private readonly states = new Map<number, TrackingState>();
  /** Default mode: key → ids of the clients that read it since its last invalidation. */
  private readonly table = new Map<string, { key: Uint8Array; clients: Set<number> }>();
  private stream: { close(): void } | null = null;
  /** The child reports every change (its stream answered CLIENT TRACKING). */
  private streamReady = false;
  private readyWaiters: (() => void)[] = [];
  /** Clients that read while the stream was not ready: they drop their cache once it is. */
  private readonly readBeforeReady = new Set<number>();
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly sessions: ClientRegistry,
    private readonly openInvalidations: OpenInvalidations,
    private readonly limits: TrackingLimits,
  ) {}

  /** Keys remembered for default-mode clients (CLIENT TRACKING's table). */
  get tableSize(): number {
    return this.table.size;
  }

  isTracking(session: ClientSession): boolean {
    return this.states.size > 0 && this.states.has(session.id);
  }

  /** CLIENT LIST's flags for tracking: t on, R redirect broken, B broadcast. */
  listFlags(session: ClientSession): string {
    const state = this.states.get(session.id);
    if (!state) return "";
    return "t" + (state.redirectBroken ? "R" : "") + (state.bcast ? "B" : "");
  }

  /** CLIENT TRACKING | CACHING | GETREDIR | TRACKINGINFO. */
  command(session: ClientSession, sub: string, args: Uint8Array[], slot: ReplySlot): void {
    switch (sub) {
      case "tracking": {
        const reply = this.tracking(session, args);
        // OK once the child reports changes, so that reads sent after it are covered.
        if (reply !== OK || this.streamReady) return slot.complete(reply);
        return void this.whenReady().then(() => slot.complete(reply));
      }
      case "caching":
        return slot.complete(this.caching(session, args));
      case "getredir": {
        const state = this.states.get(session.id);
        return slot.complete(encodeInteger(state ? state.redirect : -1));
      }
      case "trackinginfo":
        return slot.complete(this.trackingInfo(session));
    }
  }

  /**
   * Called for each read-only command a client runs here (its keys, as the command table gives
   * them), before it goes to the child.
   */
  remember(session: ClientSession, keys: readonly Uint8Array[]): void {
    const state = this.states.get(session.id);
    if (!state) return;
    if (!this.streamReady) this.readBeforeReady.add(session.id);
    if (state.bcast) return;
    if (state.optin && state.caching !== true) return;
    if (state.optout && state.caching === false) return;
    for (const key of keys) {
      const id = keyId(key);
      let entry = this.table.get(id);
      if (!entry) {
        entry = { key: key.slice(), clients: new Set() };
        this.table.set(id, entry);
      }
      entry.clients.add(session.id);
    }
    this.evictOverLimit();
  }

  /**
   * After each command: CLIENT CACHING's answer covers one command, or one whole transaction
   * (it stays while the client is in MULTI), and any CLIENT subcommand leaves it in place.
   */
  commandDone(session: ClientSession, name: string, inTransaction: boolean): void {
    const state = this.states.get(session.id);
    if (state && state.caching !== null && !inTransaction && !name.startsWith("client")) {
      state.caching = null;
    }
  }

  closed(session: ClientSession): void {
    if (this.states.delete(session.id)) this.activeChanged();
  }

  private tracking(session: ClientSession, args: Uint8Array[]): Uint8Array {
    let redirect = 0;
    let bcast = false, optin = false, optout = false, noloop = false;
    const prefixes: Uint8Array[] = [];
    for (let j = 3; j < args.length; j++) {
      const option = lowerAscii(args[j]);
      const more = j < args.length - 1;
      if (option === "redirect" && more) {
        j++;
        if (redirect !== 0) {
          return encodeError("ERR A client can only redirect to a single other client");
        }
        const id = parseRedisInteger(args[j], 0, args[j].length);
        if (Number.isNaN(id)) return encodeError("ERR value is not an integer or out of range");
        if (this.sessions.get(id) === undefined) {
          return encodeError("ERR The client ID you want redirect to does not exist");
        }
        redirect = id;
      } else if (option === "bcast") bcast = true;
      else if (option === "optin") optin = true;
      else if (option === "optout") optout = true;
      else if (option === "noloop") noloop = true;
      else if (option === "prefix" && more) prefixes.push(args[++j].slice());
      else return syntaxError;
    }
    const onOff = lowerAscii(args[2]);
    if (onOff === "off") {
      if (this.states.delete(session.id)) this.activeChanged();
      return OK;
    }
    if (onOff !== "on") return syntaxError;
    const old = this.states.get(session.id);
    if (!bcast && prefixes.length > 0) {
      return encodeError("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if (old && old.bcast !== bcast) {
      return encodeError(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
      );
    }
    if (bcast && (optin || optout)) {
      return encodeError("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if (optin && optout) {
      return encodeError("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (old && ((optin && old.optout) || (optout && old.optin))) {
      return encodeError(
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
      );
    }
    const overlap = prefixOverlap(old?.prefixes ?? [], prefixes);
    if (overlap) return encodeError(overlap);
    // BCAST with no PREFIX is the empty prefix: every key (as Redis, given once).
    if (bcast && prefixes.length === 0 && !old?.prefixes.some((p) => p.length === 0)) {
      prefixes.push(new Uint8Array(0));
    }
    const state: TrackingState = {
      redirect,
      bcast,
      prefixes: [...(old?.prefixes ?? []), ...prefixes],
      optin,
      optout,
      noloop,
      caching: null,
      redirectBroken: false,
    };
    this.states.set(session.id, state);
    if (!old) this.activeChanged();
    return OK;
  }

  private caching(session: ClientSession, args: Uint8Array[]): Uint8Array {
    const state = this.states.get(session.id);
    if (args.length !== 3 || !state || !(state.optin || state.optout)) {
      return encodeError(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
      );
    }
    const answer = lowerAscii(args[2]);
    if (answer === "yes") {
      if (!state.optin) {
        return encodeError(
          "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
        );
      }
      state.caching = true;
    } else if (answer === "no") {
      if (!state.optout) {
        return encodeError(
          "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
        );
      }
      state.caching = false;
    } else {
      return syntaxError;
    }
    return OK;
  }

  private trackingInfo(session: ClientSession): Uint8Array {
    const state = this.states.get(session.id);
    const flags: string[] = [];
    if (!state) flags.push("off");
    else {
      flags.push("on");
      if (state.bcast) flags.push("bcast");
      if (state.optin) flags.push("optin");
      if (state.optout) flags.push("optout");
      if (state.caching === true) flags.push("caching-yes");
      if (state.caching === false) flags.push("caching-no");
      if (state.noloop) flags.push("noloop");
      if (state.redirectBroken) flags.push("broken_redirect");
    }
    // In byte order, as Redis's radix tree lists them.
    const prefixes = [...(state?.prefixes ?? [])].sort(compareBytes);
    return concatBytes([
      encodeMapHeader(3, session.replies.protocol),
      encodeBulk("flags"),
      encodeSetHeader(flags.length, session.replies.protocol),
      ...flags.map((flag) => encodeBulk(flag)),
      encodeBulk("redirect"),
      encodeInteger(state ? state.redirect : -1),
      encodeBulk("prefixes"),
      encodeArrayHeader(prefixes.length),
      ...prefixes.map((prefix) => encodeBulk(prefix)),
    ]);
  }

  /** Open the child's stream when the first client tracks, close it after the last. */
  private activeChanged(): void {
    if (this.states.size > 0 && this.stream === null && this.reopenTimer === undefined) {
      this.open();
    } else if (this.states.size === 0) {
      clearTimeout(this.reopenTimer);
      this.reopenTimer = undefined;
      this.stream?.close();
      this.stream = null;
      this.streamReady = false;
      this.table.clear();
      this.readBeforeReady.clear();
      for (const wake of this.readyWaiters.splice(0)) wake();
    }
  }

  /** Resolves once the stream is ready, or after the reopen delay ×10 at most. */
  private whenReady(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.limits.reopenDelayMs * 10);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private open(): void {
    this.streamReady = false;
    const stream = this.openInvalidations({
      ready: () => {
        if (this.stream !== stream) return;
        this.streamReady = true;
        // A change made before the child reported changes cannot be named: whoever read
        // meanwhile drops its whole cache.
        for (const id of this.readBeforeReady) this.send(id, null);
        this.readBeforeReady.clear();
        for (const wake of this.readyWaiters.splice(0)) wake();
      },
      invalidate: (keys) => {
        if (this.stream === stream) this.invalidate(keys);
      },
      lost: () => {
        if (this.stream !== stream) return;
        this.stream = null;
        // Everyone drops its cache once per outage; a retry that never got ready adds nothing.
        if (this.streamReady) this.invalidate(null);
        this.streamReady = false;
        if (this.states.size === 0) return;
        this.reopenTimer = setTimeout(() => {
          this.reopenTimer = undefined;
          if (this.states.size > 0 && this.stream === null) this.open();
        }, this.limits.reopenDelayMs);
      },
    });
    this.stream = stream;
  }

  /** Tell the clients concerned that `keys` changed (null: everything). */
  invalidate(keys: Uint8Array[] | null): void {
    if (keys === null) {
      this.table.clear();
      for (const id of this.states.keys()) this.send(id, null);
      return;
    }
    const perClient = new Map<number, Uint8Array[]>();
    const add = (id: number, key: Uint8Array) => {
      const list = perClient.get(id);
      if (list) list.push(key);
      else perClient.set(id, [key]);
    };
    for (const key of this.table.size > 0 ? keys : []) {
      const id = keyId(key);
      const entry = this.table.get(id);
      if (entry) {
        this.table.delete(id);
        for (const client of entry.clients) add(client, key);
      }
    }
    for (const [id, state] of this.states) {
      if (!state.bcast) continue;
      for (const key of keys) {
        if (state.prefixes.some((prefix) => startsWith(key, prefix))) add(id, key);
      }
    }
    for (const [id, list] of perClient) this.send(id, list);
  }

  /** Over the table's limit: forget the oldest keys, invalidating them (as Redis does). */
  private evictOverLimit(): void {
    while (this.table.size > this.limits.trackingTableMaxKeys) {
      const [id, entry] = this.table.entries().next().value!;
      this.table.delete(id);
      for (const client of entry.clients) this.send(client, [entry.key]);
    }
  }

  private send(clientId: number, keys: Uint8Array[] | null): void {
    const state = this.states.get(clientId);
    const session = this.sessions.get(clientId);
    if (!state || !session) return; // turned off or gone since it read the key
    let target = session;
    if (state.redirect !== 0) {
      const redirected = this.sessions.get(state.redirect);
      if (!redirected) {
        state.redirectBroken = true;
        if (session.replies.protocol === 3) {
          this.deliver(
            session,
            concatBytes([
              encodePushHeader(2),
              encodeBulk("tracking-redir-broken"),
              encodeInteger(state.redirect),
            ]),
          );
        }
        return;
      }
      target = redirected;
    }
    const value = keys === null
      ? nullArrayFor(target.replies.protocol)
      : concatBytes([encodeArrayHeader(keys.length), ...keys.map((key) => encodeBulk(key))]);
    if (target.replies.protocol === 3) {
      this.deliver(target, concatBytes([encodePushHeader(2), INVALIDATE, value]));
    } else if (state.redirect !== 0 && target.state.pubsub !== undefined) {
      this.deliver(
        target,
        concatBytes([encodeArrayHeader(3), encodeBulk("message"), encodeBulk(CHANNEL), value]),
      );
    }
    // A RESP2 client without a redirect to a subscriber gets nothing, as from Redis.
  }

  private deliver(session: ClientSession, frame: Uint8Array): void {
    if (!session.isOpen) return;
    if (session.replies.unsentBytes > this.limits.clientReplyBufferMaxBytes) {
      session.close(); // it does not read: as Redis's output buffer limit
      return;
    }
    session.replies.take().complete(frame);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return startsWith(a, b) || startsWith(b, a);
}

/** Redis's error for a new prefix that starts or extends another one; null if none does. */
function prefixOverlap(existing: Uint8Array[], added: Uint8Array[]): string | null {
  const rule = "Prefixes for a single client must not overlap.";
  for (let i = 0; i < added.length; i++) {
    const prefix = decoder.decode(added[i]);
    const taken = existing.find((other) => overlaps(other, added[i]));
    if (taken) {
      return `ERR Prefix '${prefix}' overlaps with an existing prefix '${
        decoder.decode(taken)
      }'. ${rule}`;
    }
    for (let j = i + 1; j < added.length; j++) {
      if (overlaps(added[i], added[j])) {
        return `ERR Prefix '${prefix}' overlaps with another provided prefix '${
          decoder.decode(added[j])
        }'. ${rule}`;
      }
    }
  }
  return null;
}
