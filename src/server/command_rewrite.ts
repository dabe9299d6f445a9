/**
 * @module
 * Makes a write deterministic before it is proposed, so that replaying the log on any node (or
 * on this one after a restart) reaches exactly the state the client was told about:
 * relative expiries become absolute (EXPIRE→PEXPIREAT, SET EX→PXAT, ...), SPOP's random
 * choice is fixed by a seed chosen here and carried in the entry, and XADD's `*` id gets its
 * milliseconds from this leader's clock (`<ms>-*`: the child picks the sequence, the same on
 * every node). Invalid arguments are left untouched: the child rejects them identically on
 * every node.
 */

import { parseRedisInteger } from "../resp/resp_integer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A whole number as Redis's string2ll reads it (no `+`, no leading zero, no space), or null:
 * what Redis would refuse is passed on unchanged, for its own error. Past 2^53 it is approximate,
 * and every caller bounds it well below that.
 */
export function parseInteger(bytes: Uint8Array): number | null {
  const value = parseRedisInteger(bytes, 0, bytes.length);
  return Number.isNaN(value) ? null : value;
}

function lower(bytes: Uint8Array): string {
  return decoder.decode(bytes).toLowerCase();
}

const b = (s: string | number) => encoder.encode(String(s));

/** Largest absolute expiry in ms Redis accepts without overflow checks failing. */
const expiryMaxMs = 2 ** 52;

function absoluteMs(amount: number, unitMs: number, nowMs: number): number | null {
  const ms = amount * unitMs + nowMs;
  return Math.abs(amount * unitMs) < expiryMaxMs ? ms : null;
}

// Deterministic SPOP: sort the members, pick with a seeded LCG, remove and return them.
const spopScript = `
local members = redis.pcall('SMEMBERS', KEYS[1])
if type(members) == 'table' and members.err then return members end
local count = tonumber(ARGV[1])
local seed = tonumber(ARGV[2])
local single = ARGV[3] == '1'
table.sort(members)
local n = #members
if count > n then count = n end
local picked = {}
for i = 1, count do
  seed = (seed * 1103515245 + 12345) % 2147483648
  local j = i + (seed % (n - i + 1))
  members[i], members[j] = members[j], members[i]
  picked[i] = members[i]
end
if count > 0 then redis.call('SREM', KEYS[1], unpack(picked)) end
if single then
  if count == 0 then return false end
  return picked[1]
end
return picked
`;

/** Milliseconds of the last stream id chosen here: ids never go back when the clock does. */
let streamIdFloorMs = 0;

/** XADD with `*` as its id: `<ms>-*` instead (args untouched when the id is explicit). */
function rewriteStreamId(args: Uint8Array[], nowMs: number): Uint8Array[] {
  let i = 2;
  if (i < args.length && lower(args[i]) === "nomkstream") i++;
  if (i < args.length && (lower(args[i]) === "maxlen" || lower(args[i]) === "minid")) {
    i++;
    if (i < args.length && (decoder.decode(args[i]) === "=" || decoder.decode(args[i]) === "~")) {
      i++;
    }
    i++; // threshold
    if (i < args.length && lower(args[i]) === "limit") i += 2;
  }
  if (i >= args.length || args[i].length !== 1 || args[i][0] !== 42 /* '*' */) return args;
  streamIdFloorMs = Math.max(streamIdFloorMs, Math.floor(nowMs));
  const out = args.slice();
  out[i] = b(`${streamIdFloorMs}-*`);
  return out;
}

/** The command to propose instead of `args` (`args` itself when nothing needs fixing). */
export function rewriteForDeterminism(
  name: string,
  args: Uint8Array[],
  nowMs = Date.now(),
  random = Math.random,
): Uint8Array[] {
  switch (name) {
    case "expire":
    case "pexpire": {
      const amount = parseInteger(args[2]);
      if (amount === null) return args;
      const at = absoluteMs(amount, name === "expire" ? 1000 : 1, nowMs);
      if (at === null) return args;
      return [b("PEXPIREAT"), args[1], b(at), ...args.slice(3)];
    }
    case "setex":
    case "psetex": {
      const amount = parseInteger(args[2]);
      if (amount === null || amount <= 0) return args;
      const at = absoluteMs(amount, name === "setex" ? 1000 : 1, nowMs);
      if (at === null) return args;
      return [b("SET"), args[1], args[3], b("PXAT"), b(at)];
    }
    case "set":
      return rewriteExpiryOption(args, 3, nowMs);
    case "getex":
      return rewriteExpiryOption(args, 2, nowMs);
    case "restore": {
      const ttl = parseInteger(args[2]);
      if (
        ttl === null || ttl <= 0 || ttl >= expiryMaxMs ||
        args.slice(4).some((a) => lower(a) === "absttl")
      ) return args;
      return [args[0], args[1], b(ttl + nowMs), ...args.slice(3), b("ABSTTL")];
    }
    case "xadd":
      return rewriteStreamId(args, nowMs);
    case "spop": {
      if (args.length > 3) return args;
      let count = 1;
      if (args.length === 3) {
        const parsed = parseInteger(args[2]);
        // The child's own error, at EXEC inside a transaction, as in Redis.
        if (parsed === null || parsed < 0) return args;
        count = parsed;
      }
      const seed = Math.floor(random() * 2147483647);
      return [
        b("EVAL"),
        b(spopScript),
        b(1),
        args[1],
        b(count),
        b(seed),
        b(args.length === 2 ? 1 : 0),
      ];
    }
  }
  return args;
}

/** SET/GETEX: EX s / PX ms options from `start` on become PXAT. */
function rewriteExpiryOption(args: Uint8Array[], start: number, nowMs: number): Uint8Array[] {
  for (let i = start; i < args.length - 1; i++) {
    const option = lower(args[i]);
    if (option !== "ex" && option !== "px") continue;
    const amount = parseInteger(args[i + 1]);
    if (amount === null || amount <= 0) return args;
    const at = absoluteMs(amount, option === "ex" ? 1000 : 1, nowMs);
    if (at === null) return args;
    const out = args.slice();
    out[i] = b("PXAT");
    out[i + 1] = b(at);
    return out;
  }
  return args;
}
