/**
 * @module
 * Blocking commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP),
 * replicated as RedisRaft does: the command is a log entry; when it is applied (on every node)
 * its non-blocking form is tried, and if there is nothing to take the client waits in a FIFO
 * that is part of the replicated state. Each later write that touches a waited-for key tries the
 * waiters in order, so every node serves the same waiter with the same element. The leader
 * enforces timeouts by proposing a timeout entry; waiters from an older term are dropped when an
 * entry of a newer term is applied (their clients were disconnected by the leader change).
 */
import { decodeReply, encodeCommand } from "../resp/mod.ts";
import type { ClientSession } from "../server/client_session.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import { encodeArrayHeader, encodeBulk } from "../server/replies.ts";
import { concatBytes, keyString } from "../resp/bytes.ts";
import { parseRedisInteger } from "../resp/resp_integer.ts";

const decoder = new TextDecoder();

/** How a blocking command tries to take an element now; false when there is nothing. */
const tryScript = `
local mode = ARGV[1]
if mode == 'lpop' or mode == 'rpop' then
  for i = 1, #KEYS do
    local v = redis.pcall(mode, KEYS[i])
    if type(v) == 'table' and v.err then return v end
    if v then return {KEYS[i], v} end
  end
  return false
elseif mode == 'zpopmin' or mode == 'zpopmax' then
  for i = 1, #KEYS do
    local r = redis.pcall(mode, KEYS[i])
    if r.err then return r end
    if #r > 0 then return {KEYS[i], r[1], r[2]} end
  end
  return false
elseif mode == 'rpoplpush' then
  return redis.pcall('RPOPLPUSH', KEYS[1], KEYS[2])
elseif mode == 'lmove' then
  return redis.pcall('LMOVE', KEYS[1], KEYS[2], ARGV[2], ARGV[3])
else
  -- One list: a call that is not last in an argument list gives Lua only its first value.
  local args = {#KEYS}
  for i = 1, #KEYS do args[#args + 1] = KEYS[i] end
  for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
  return redis.pcall(mode, unpack(args))
end
`;

/**
 * The body of the entry by which the leader ends a wait: "<waiter id>" (a timeout: the client gets
 * a nil) or "<waiter id>:error" (CLIENT UNBLOCK ... ERROR).
 */
export function encodeWaitEnd(waiterId: number, withError: boolean): Uint8Array {
  return new TextEncoder().encode(`${waiterId}${withError ? ":error" : ""}`);
}

export function decodeWaitEnd(body: Uint8Array): { waiterId: number; withError: boolean } {
  const [id, reason] = decoder.decode(body).split(":");
  return { waiterId: Number(id), withError: reason === "error" };
}

export interface BlockingCall {
  mode: string;
  keys: Uint8Array[];
  /** Extra arguments of the non-blocking form (directions, MIN/MAX, COUNT n). */
  extra: Uint8Array[];
  timeoutMs: number;
}

export interface Waiter {
  /** Index of the entry that blocked. */
  id: number;
  term: number;
  call: BlockingCall;
  keyStrings: string[];
  /** Only on the node the client is connected to. */
  slot?: ReplySlot;
  session?: ClientSession;
  deadlineMs?: number;
  timeoutProposed?: boolean;
}

/** Redis's MAX_LONG_DOUBLE_CHARS: a longer text is not a number to it. */
const longDoubleMaxChars = 5 * 1024;

/**
 * A number as C's `strtold` reads the whole of `text` (decimal or hexadecimal, `inf`, `nan`), or
 * undefined where Redis refuses it: leading space, trailing characters, NaN, overflow.
 */
export function parseLongDouble(text: string): number | undefined {
  // Redis refuses longer ones unread (MAX_LONG_DOUBLE_CHARS).
  if (text.length >= longDoubleMaxChars) return undefined;
  // Each part can match in one way only: no backtracking over long digit runs.
  const match =
    /^([+-]?)(?:(inf(?:inity)?)|(nan)|0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?|(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?))$/i
      .exec(text);
  if (!match) return undefined;
  const [, sign, inf, nan, hexInt, hexFraction, binaryExponent, decimal] = match;
  const negative = sign === "-";
  if (nan !== undefined) return undefined;
  if (inf !== undefined) return negative ? -Infinity : Infinity;
  let value: number;
  if (decimal !== undefined) {
    value = Number(decimal);
    // A long double holds up to about 1.19e4932: beyond a double's range it is still finite.
    if (!Number.isFinite(value) && Number(decimal.split(/e/i)[1]) > 4932) return undefined;
  } else {
    const digits = `${hexInt}${hexFraction ?? ""}`;
    if (digits.length === 0) return undefined;
    value = parseInt(digits.slice(0, 26), 16) * 16 ** (Math.max(digits.length - 26, 0)) /
      16 ** (hexFraction?.length ?? 0) * 2 ** Number(binaryExponent ?? 0);
  }
  return negative ? -value : value;
}

/**
 * A blocking command's timeout in seconds as Redis reads it: milliseconds truncated (0 waits for
 * ever), or Redis's error text.
 */
export function parseTimeout(text: string): number | string {
  const seconds = parseLongDouble(text);
  if (seconds === undefined) return "ERR timeout is not a float or out of range";
  const ms = seconds * 1000;
  // Redis converts to a long long: what does not fit comes out negative.
  if (!(ms < 2 ** 63) || ms <= -1) return "ERR timeout is negative";
  return Math.trunc(ms) || 0; // not -0
}

/** Parse a blocking command (lower-case name + args) or return Redis's error text. */
export function parseBlocking(name: string, args: Uint8Array[]): BlockingCall | string {
  const text = (i: number) => decoder.decode(args[i]);
  let timeout: number | string;
  switch (name) {
    case "blpop":
    case "brpop":
    case "bzpopmin":
    case "bzpopmax": {
      timeout = parseTimeout(text(args.length - 1));
      if (typeof timeout === "string") return timeout;
      return { mode: name.slice(1), keys: args.slice(1, -1), extra: [], timeoutMs: timeout };
    }
    case "brpoplpush":
      timeout = parseTimeout(text(3));
      if (typeof timeout === "string") return timeout;
      return { mode: "rpoplpush", keys: [args[1], args[2]], extra: [], timeoutMs: timeout };
    case "blmove":
      timeout = parseTimeout(text(5));
      if (typeof timeout === "string") return timeout;
      return {
        mode: "lmove",
        keys: [args[1], args[2]],
        extra: [args[3], args[4]],
        timeoutMs: timeout,
      };
    case "blmpop":
    case "bzmpop": {
      timeout = parseTimeout(text(1));
      if (typeof timeout === "string") return timeout;
      const count = parseRedisInteger(args[2], 0, args[2].length);
      if (!(count > 0)) return "ERR numkeys should be greater than 0";
      if (3 + count > args.length) return "ERR syntax error";
      return {
        mode: name.slice(1),
        keys: args.slice(3, 3 + count),
        extra: args.slice(3 + count),
        timeoutMs: timeout,
      };
    }
  }
  return `ERR unknown blocking command '${name}'`;
}

const encoder = new TextEncoder();
const EVAL = encoder.encode("EVAL");
const SCRIPT = encoder.encode(tryScript);

/** The EVAL that tries `call` now. */
export function tryCommand(call: BlockingCall): Uint8Array {
  return encodeCommand([
    EVAL,
    SCRIPT,
    encoder.encode(String(call.keys.length)),
    ...call.keys,
    encoder.encode(call.mode),
    ...call.extra,
  ]);
}

/** A try reply meaning "nothing to take yet" (Lua false). */
export function isNothing(frame: Uint8Array): boolean {
  return frame.length === 5 && frame[0] === 36 && frame[1] === 45; // "$-1\r\n"
}

/**
 * A served try's reply as the blocking command answers in `protocol`: the try runs as a script,
 * whose replies are RESP2-typed, so in RESP3 the scores of BZPOPMIN/BZPOPMAX/BZMPOP become
 * doubles, as Redis sends them.
 */
export function servedReply(frame: Uint8Array, mode: string, protocol: RespProtocol): Uint8Array {
  if (protocol === 2 || frame[0] !== 42 /* '*' */) return frame;
  if (mode !== "zpopmin" && mode !== "zpopmax" && mode !== "zmpop") return frame;
  const reply = decodeReply(frame, { bulk: "bytes" }) as (Uint8Array | Uint8Array[][])[];
  const double = (bytes: Uint8Array) =>
    concatBytes([encoder.encode(","), bytes, encoder.encode("\r\n")]);
  if (mode !== "zmpop") {
    const [key, member, score] = reply as Uint8Array[];
    return concatBytes([encodeArrayHeader(3), encodeBulk(key), encodeBulk(member), double(score)]);
  }
  const [key, pairs] = reply as [Uint8Array, Uint8Array[][]];
  return concatBytes([
    encodeArrayHeader(2),
    encodeBulk(key),
    encodeArrayHeader(pairs.length),
    ...pairs.map(([member, score]) =>
      concatBytes([encodeArrayHeader(2), encodeBulk(member), double(score)])
    ),
  ]);
}

export class BlockedClients {
  private waiters: Waiter[] = [];

  get size(): number {
    return this.waiters.length;
  }

  all(): readonly Waiter[] {
    return this.waiters;
  }

  /** The waiter of the client with this CLIENT ID, if it waits on this node. */
  ofClient(clientId: number): Waiter | undefined {
    return this.waiters.find((w) => w.slot?.queue.clientId === clientId);
  }

  add(waiter: Waiter): void {
    this.waiters.push(waiter);
  }

  remove(id: number): Waiter | undefined {
    const at = this.waiters.findIndex((w) => w.id === id);
    if (at < 0) return undefined;
    return this.waiters.splice(at, 1)[0];
  }

  /** Waiters of terms before `term`, removed. */
  dropOlderThan(term: number): Waiter[] {
    const dropped = this.waiters.filter((w) => w.term < term);
    if (dropped.length > 0) this.waiters = this.waiters.filter((w) => w.term >= term);
    return dropped;
  }

  /** Waiters (FIFO) whose keys intersect `touched` (null: every waiter). */
  candidates(touched: ReadonlySet<string> | null): Waiter[] {
    if (touched === null) return [...this.waiters];
    return this.waiters.filter((w) => w.keyStrings.some((k) => touched.has(k)));
  }

  /** For snapshots: everything but the local client handles. */
  toJSON(): unknown[] {
    return this.waiters.map((w) => ({
      id: w.id,
      term: w.term,
      mode: w.call.mode,
      keys: w.call.keys.map(keyString),
      extra: w.call.extra.map(keyString),
      timeoutMs: w.call.timeoutMs,
    }));
  }

  restore(
    saved: readonly {
      id: number;
      term: number;
      mode: string;
      keys: string[];
      extra: string[];
      timeoutMs: number;
    }[],
  ): void {
    const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    this.waiters = saved.map((w) => ({
      id: w.id,
      term: w.term,
      call: {
        mode: w.mode,
        keys: w.keys.map(bytes),
        extra: w.extra.map(bytes),
        timeoutMs: w.timeoutMs,
      },
      keyStrings: w.keys,
    }));
  }
}
