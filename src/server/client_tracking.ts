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
import type { ClientSession } from "./client_session.ts";
import type { ReplySlot } from "./reply_queue.ts";
import {
  encodeArrayHeader,
  encodeBulk,
  encodeInteger,
  encodePushHeader,
  nullArrayFor,
} from "./replies.ts";
import { concatBytes, keyString } from "../resp/bytes.ts";
import { durationMaxMs } from "../config/config_schema.ts";
import {
  applyCaching,
  encodeTrackingInfo,
  OK,
  parseTracking,
  type TrackingState,
} from "./tracking_options.ts";
import { prefixOf } from "./prefix_overlap.ts";

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

/** What INFO reports about tracking (Redis's field names in the comments). */
export interface TrackingStats {
  /** tracking_clients: clients with tracking on. */
  clients: number;
  /** tracking_total_keys: keys remembered for default-mode clients. */
  keys: number;
  /** tracking_total_items: (key, client) pairs remembered. */
  items: number;
  /** tracking_total_prefixes: distinct BCAST prefixes. */
  prefixes: number;
}

/**
 * Readers gone (closed or tracking off) before the table drops their ids; at least this many,
 * and at least as many as the readers still there, so a sweep's cost is shared out.
 */
const goneReadersSweepMinCount = 64;

/** Opens the stream of the child's changes (see child_invalidations.ts). */
export type OpenInvalidations = (sink: InvalidationSink) => { close(): void };

const INVALIDATE = encodeBulk("invalidate");
const CHANNEL = "__redis__:invalidate";

export class ClientTracking {
  private readonly states = new Map<number, TrackingState>();
  /** Default mode: key → ids of the clients that read it since its last invalidation. */
  private readonly table = new Map<string, { key: Uint8Array; clients: Set<number> }>();
  /** Client ids in the table, counted once per key. */
  private tableItems = 0;
  /** Clients with ids in the table that still track in default mode. */
  private readonly readers = new Set<number>();
  /** Clients that left `readers` since the table last dropped the ids of those gone. */
  private goneReaders = 0;
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
        return slot.complete(applyCaching(this.states.get(session.id), args));
      case "getredir": {
        const state = this.states.get(session.id);
        return slot.complete(encodeInteger(state ? state.redirect : -1));
      }
      case "trackinginfo":
        return slot.complete(
          encodeTrackingInfo(this.states.get(session.id), session.replies.protocol),
        );
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
      const id = keyString(key);
      let entry = this.table.get(id);
      if (!entry) {
        entry = { key: key.slice(), clients: new Set() };
        this.table.set(id, entry);
      }
      if (!entry.clients.has(session.id)) {
        entry.clients.add(session.id);
        this.tableItems++;
      }
    }
    if (keys.length > 0) this.readers.add(session.id);
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
    this.readerGone(session.id);
    if (this.states.delete(session.id)) this.activeChanged();
  }

  stats(): TrackingStats {
    const prefixes = new Set<string>();
    for (const state of this.states.values()) {
      if (state.bcast) { for (const prefix of state.prefixes) prefixes.add(keyString(prefix)); }
    }
    return {
      clients: this.states.size,
      keys: this.table.size,
      items: this.tableItems,
      prefixes: prefixes.size,
    };
  }

  /**
   * The table keeps a gone reader's id under every key it read until the key changes, as
   * Redis's does; with clients coming and going, those ids would pile up under keys that
   * never change. Once enough readers are gone, one pass drops them.
   */
  private readerGone(id: number): void {
    if (!this.readers.delete(id)) return;
    this.goneReaders++;
    if (this.goneReaders < Math.max(goneReadersSweepMinCount, this.readers.size)) return;
    this.goneReaders = 0;
    for (const [key, entry] of this.table) {
      for (const client of entry.clients) {
        if (this.readers.has(client)) continue;
        entry.clients.delete(client);
        this.tableItems--;
      }
      if (entry.clients.size === 0) this.table.delete(key);
    }
  }

  private tracking(session: ClientSession, args: Uint8Array[]): Uint8Array {
    const old = this.states.get(session.id);
    const next = parseTracking(args, old, (id) => this.sessions.get(id) !== undefined);
    if (next instanceof Uint8Array) return next;
    if (next === null || next.bcast) this.readerGone(session.id);
    if (next === null) this.states.delete(session.id);
    else this.states.set(session.id, next);
    if ((next === null) !== (old === undefined)) this.activeChanged();
    return OK;
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
      this.clearTable();
      this.readBeforeReady.clear();
      for (const wake of this.readyWaiters.splice(0)) wake();
    }
  }

  private clearTable(): void {
    this.table.clear();
    this.tableItems = 0;
    this.readers.clear();
    this.goneReaders = 0;
  }

  /** Resolves once the stream is ready, or after the reopen delay ×10 at most. */
  private whenReady(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.readyWaiters.indexOf(wake);
        if (at >= 0) this.readyWaiters.splice(at, 1);
        resolve();
      }, Math.min(this.limits.reopenDelayMs * 10, durationMaxMs));
      this.readyWaiters.push(wake);
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
      this.clearTable();
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
      const id = keyString(key);
      const entry = this.table.get(id);
      if (entry) {
        this.table.delete(id);
        this.tableItems -= entry.clients.size;
        for (const client of entry.clients) add(client, key);
      }
    }
    for (const [id, state] of this.states) {
      if (!state.bcast) continue;
      for (const key of keys) {
        if (prefixOf(state.prefixes, key)) add(id, key);
      }
    }
    for (const [id, list] of perClient) this.send(id, list);
  }

  /** Over the table's limit: forget the oldest keys, invalidating them (as Redis does). */
  private evictOverLimit(): void {
    while (this.table.size > this.limits.trackingTableMaxKeys) {
      const [id, entry] = this.table.entries().next().value!;
      this.table.delete(id);
      this.tableItems -= entry.clients.size;
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
