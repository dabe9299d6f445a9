/**
 * @module
 * CLIENT subcommands on the node's own connections, with Redis 7.0's syntax, replies and
 * errors: ID, INFO, LIST [TYPE t | ID id...], KILL (the old `addr` form and the filter form),
 * GETNAME, SETNAME, UNBLOCK (which goes through the log), and client-side caching (TRACKING,
 * CACHING, GETREDIR, TRACKINGINFO; see client_tracking.ts), REPLY, NO-EVICT (a flag only: no
 * node evicts clients, its child has no memory limit). The rest (PAUSE, ...) are refused: they
 * would control the child or need state no node replicates.
 */
import type { ClientRegistry } from "./client_registry.ts";
import type { ClientSession } from "./client_session.ts";
import type { ReplySlot } from "./reply_queue.ts";
import {
  encodeBulk,
  encodeError,
  encodeInteger,
  encodeSimple,
  encodeText,
  nullBulkFor,
} from "./replies.ts";
import { Errors } from "./errors.ts";
import { lowerAscii } from "../resp/bytes.ts";
import { parseRedisInteger } from "../resp/resp_integer.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import type { ClientTracking } from "./client_tracking.ts";

const decoder = new TextDecoder();
const OK = encodeSimple("OK");
const syntaxError = encodeError("ERR syntax error");

/** What CLIENT needs from the node beyond the connections. */
export interface ClientCommandNode {
  unblockClient(clientId: number, withError: boolean): boolean;
  isBlocked(clientId: number): boolean;
}

type ClientType = "normal" | "pubsub" | "master" | "replica";

export const invalidClientName =
  "ERR Client names cannot contain spaces, newlines or special characters.";

/** Redis's rule for CLIENT SETNAME and HELLO SETNAME: printable ASCII, no spaces. */
export function validClientName(name: string): boolean {
  return /^[!-~]*$/.test(name);
}

function clientType(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case "normal":
    case "pubsub":
    case "master":
      return name.toLowerCase() as ClientType;
    case "replica":
    case "slave":
      return "replica";
  }
  return null;
}

/** Redis's type of a connection: the node's clients are normal or, subscribed, pubsub. */
function typeOf(session: ClientSession): ClientType {
  return session.state.pubsub ? "pubsub" : "normal";
}

/** A positive integer id as Redis's string2ll reads it ("01" is not one), or null. */
function parseId(bytes: Uint8Array): number | null {
  const id = parseRedisInteger(bytes, 0, bytes.length);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export class ClientCommand {
  constructor(
    private readonly sessions: ClientRegistry,
    private readonly node: ClientCommandNode,
    private readonly tracking: ClientTracking,
  ) {}

  handle(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const sub = lowerAscii(args[1]);
    session.lastCommand = `client|${sub}`;
    switch (sub) {
      case "id":
        if (args.length !== 2) break;
        return slot.complete(encodeInteger(session.id));
      case "info":
        if (args.length !== 2) break;
        return slot.complete(encodeText(this.describe(session), slot.protocol));
      case "list":
        return slot.complete(this.list(args, slot.protocol));
      case "kill":
        return this.kill(session, args, slot);
      case "getname":
        if (args.length !== 2) break;
        if (session.name) return slot.complete(encodeBulk(session.name));
        return slot.complete(nullBulkFor(slot.protocol));
      case "setname": {
        if (args.length !== 3) break;
        const name = decoder.decode(args[2]);
        if (!validClientName(name)) return slot.complete(encodeError(invalidClientName));
        session.name = name;
        return slot.complete(OK);
      }
      case "unblock":
        return this.unblock(args, slot);
      case "reply":
        return this.reply(session, args, slot);
      case "no-evict": {
        if (args.length !== 3) break;
        const mode = lowerAscii(args[2]);
        if (mode !== "on" && mode !== "off") return slot.complete(syntaxError);
        // Kept through RESET, as by Redis 7.0.
        session.state.noEvict = mode === "on";
        return slot.complete(OK);
      }
      case "tracking":
      case "caching":
      case "getredir":
      case "trackinginfo":
        return this.tracking.command(session, sub, args, slot);
    }
    slot.complete(encodeError(Errors.notSupported));
  }

  /** One CLIENT LIST line: Redis's fields, those the node knows, in Redis's order. */
  describe(session: ClientSession): string {
    const nowMs = performance.now();
    const txn = session.state.txn as { commands: unknown[] } | undefined;
    let flags = session.state.monitor ? "O" : "";
    if (session.state.pubsub) flags += "P";
    if (txn) flags += "x";
    if (this.node.isBlocked(session.id)) flags += "b";
    flags += this.tracking.listFlags(session);
    if (session.state.replicaReads) flags += "r";
    if (session.state.noEvict) flags += "e";
    const multi = txn ? txn.commands.length : -1;
    // Memory as Redis counts it for a client: its query buffer (here the read buffer and the
    // parser's), its unsent replies, and the two together.
    const queryBytes = session.queryBytes;
    const bufferBytes = session.queryBufferBytes;
    const replyBytes = session.replies.unsentBytes;
    return `id=${session.id} addr=${session.remoteAddr} laddr=${session.localAddr} ` +
      `name=${session.name} age=${Math.floor((nowMs - session.createdAtMs) / 1000)} ` +
      `idle=${Math.floor((nowMs - session.lastRequestAtMs) / 1000)} flags=${flags || "N"} db=0 ` +
      `multi=${multi} qbuf=${queryBytes} qbuf-free=${Math.max(0, bufferBytes - queryBytes)} ` +
      `omem=${replyBytes} tot-mem=${bufferBytes + replyBytes} ` +
      `cmd=${session.lastCommand} user=default resp=${session.replies.protocol}\n`;
  }

  private list(args: Uint8Array[], protocol: RespProtocol): Uint8Array {
    let selected: ClientSession[];
    if (args.length === 2) {
      selected = [...this.sessions.all()];
    } else if (args.length === 4 && lowerAscii(args[2]) === "type") {
      const type = clientType(decoder.decode(args[3]));
      if (type === null) {
        return encodeError(`ERR Unknown client type '${decoder.decode(args[3])}'`);
      }
      selected = [...this.sessions.all()].filter((s) => typeOf(s) === type);
    } else if (args.length > 3 && lowerAscii(args[2]) === "id") {
      selected = [];
      for (const arg of args.slice(3)) {
        // Any integer (0 or a negative one lists nothing), as Redis.
        const id = parseRedisInteger(arg, 0, arg.length);
        if (Number.isNaN(id)) return encodeError("ERR Invalid client ID");
        const found = this.sessions.get(id);
        if (found) selected.push(found);
      }
    } else {
      return syntaxError;
    }
    return encodeText(selected.map((s) => this.describe(s)).join(""), protocol);
  }

  private kill(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (args.length === 3) {
      // The old form: one address, and a client may kill itself.
      const addr = decoder.decode(args[2]);
      const victims = [...this.sessions.all()].filter((s) => s.remoteAddr === addr);
      if (victims.length === 0) return slot.complete(encodeError("ERR No such client"));
      this.close(session, victims, slot);
      return slot.complete(OK);
    }
    if (args.length % 2 !== 0) return slot.complete(syntaxError);
    let id: number | null = null;
    let type: ClientType | null = null;
    let addr: string | null = null;
    let laddr: string | null = null;
    let skipMe = true;
    for (let i = 2; i < args.length; i += 2) {
      const option = lowerAscii(args[i]);
      const value = decoder.decode(args[i + 1]);
      if (option === "id") {
        id = parseId(args[i + 1]);
        if (id === null) {
          return slot.complete(encodeError("ERR client-id should be greater than 0"));
        }
      } else if (option === "type") {
        type = clientType(value);
        if (type === null) {
          return slot.complete(encodeError(`ERR Unknown client type '${value}'`));
        }
      } else if (option === "addr") {
        addr = value;
      } else if (option === "laddr") {
        laddr = value;
      } else if (option === "user") {
        if (value !== "default") return slot.complete(encodeError(`ERR No such user '${value}'`));
      } else if (option === "skipme") {
        const answer = value.toLowerCase();
        if (answer !== "yes" && answer !== "no") return slot.complete(syntaxError);
        skipMe = answer === "yes";
      } else {
        return slot.complete(syntaxError);
      }
    }
    const victims = [...this.sessions.all()].filter((s) =>
      (id === null || s.id === id) && (type === null || typeOf(s) === type) &&
      (addr === null || s.remoteAddr === addr) && (laddr === null || s.localAddr === laddr) &&
      !(skipMe && s === session)
    );
    this.close(session, victims, slot);
    slot.complete(encodeInteger(victims.length));
  }

  /** Closes the victims now; the caller itself only after this reply (as Redis does). */
  private close(caller: ClientSession, victims: ClientSession[], slot: ReplySlot): void {
    for (const victim of victims) {
      if (victim === caller) slot.closeAfter = true;
      else victim.close();
    }
  }

  /** CLIENT REPLY ON|OFF|SKIP, as Redis: OFF and SKIP answer nothing, SKIP drops the next reply. */
  private reply(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const mode = lowerAscii(args[2]);
    if (mode === "on") {
      delete session.state.replyMode;
      slot.silent = false;
      return slot.complete(OK);
    }
    if (mode === "off") session.state.replyMode = "off";
    else if (mode === "skip") {
      if (session.state.replyMode !== "off") session.state.replyMode = "skip";
    } else return slot.complete(syntaxError);
    slot.silent = true;
    slot.complete(OK);
  }

  private unblock(args: Uint8Array[], slot: ReplySlot): void {
    if (args.length !== 3 && args.length !== 4) return slot.complete(syntaxError);
    // Redis's string2ll: "0x10", "1e3" or a value past 64 bits is an error, not an id.
    const id = parseRedisInteger(args[2], 0, args[2].length);
    const mode = args.length === 4 ? lowerAscii(args[3]) : "timeout";
    if (Number.isNaN(id)) {
      return slot.complete(encodeError("ERR value is not an integer or out of range"));
    }
    if (mode !== "timeout" && mode !== "error") {
      return slot.complete(encodeError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"));
    }
    slot.complete(encodeInteger(this.node.unblockClient(id, mode === "error") ? 1 : 0));
  }
}
