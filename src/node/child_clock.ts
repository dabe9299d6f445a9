/**
 * @module
 * The child's clock per command (native/raftclock.c, loaded into the child): an entry's commands
 * go to the child as `RAFT.AT <entry time ms> <command...>`, so every node decides key expiry
 * for the entry at the same moment, also when it replays the log long after. The leader's reads
 * go the same way, at a time no entry still to be applied precedes. A command whose time is the
 * one the child's clock already holds goes without the prefix (most do, at many per millisecond).
 */
import { allocBytes } from "../resp/byte_slab.ts";
import type { CommandParts } from "../redis/pipelined_connection.ts";
import { encodeCommand, RequestParser } from "../resp/mod.ts";
import { concatBytes, WRITE_COPY_MAX_BYTES } from "../resp/bytes.ts";

const encoder = new TextEncoder();

/** Where the clock of the child at the other end of a connection was last set. */
export interface ChildClockState {
  /** Milliseconds of the last `RAFT.AT` queued on the connection; -1 before any. */
  clockMs: number;
}

/** `*N\r\n` headers for the commands the node sends (a table: this runs per command). */
const arrayHeaders = Array.from({ length: 64 }, (_, n) => encoder.encode(`*${n}\r\n`));
let cachedMs = -1;
let cachedPrefix = new Uint8Array(0);

/**
 * `commandBytes` (one command, or a transaction's, sent next on the connection whose clock
 * `child` tracks) to run at `timeMs`. The child's clock stays where the last prefix on the
 * connection set it (no other connection sets it), so commands at that time go as they are;
 * otherwise the first command carries the prefix, and the ones after it (a transaction's) run
 * at the time it set.
 */
export function atTime(
  commandBytes: Uint8Array,
  timeMs: number,
  child: ChildClockState = { clockMs: -1 },
): Uint8Array {
  const parts = atTimeParts(commandBytes, timeMs, child);
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/**
 * `atTime` as the buffers to write in order: a large command is not copied behind its prefix
 * (copying megabytes into fresh memory stalls the node for a tenth of a second and more).
 */
export function atTimeParts(
  command: CommandParts,
  timeMs: number,
  child: ChildClockState = { clockMs: -1 },
): Uint8Array[] {
  if (!(command instanceof Uint8Array)) {
    // Encoded in parts (a large argument): the prefix goes into the first, which starts `*N`.
    const [first, ...rest] = command;
    return [...atTimeParts(first, timeMs, child), ...rest];
  }
  const commandBytes = command;
  const ms = Math.trunc(timeMs);
  if (child.clockMs === ms) return [commandBytes];
  child.clockMs = ms;
  if (ms !== cachedMs) {
    const digits = String(ms);
    cachedPrefix = encoder.encode(`$7\r\nRAFT.AT\r\n$${digits.length}\r\n${digits}\r\n`);
    cachedMs = ms;
  }
  return spliceFirst(commandBytes, cachedPrefix, 2) ?? [reencodeFirst(commandBytes, ms)];
}

/**
 * `*N\r\n<rest>` becomes `*(N+k)\r\n<prefix><rest>` (one buffer, or the new header and prefix
 * then `rest` itself when it is large); null if the header is not that form.
 */
function spliceFirst(
  bytes: Uint8Array,
  prefix: Uint8Array,
  prefixArgs: number,
): Uint8Array[] | null {
  if (bytes[0] !== 42 /* '*' */) return null;
  let count = 0;
  let i = 1;
  for (; i < bytes.length && bytes[i] >= 48 && bytes[i] <= 57; i++) {
    count = count * 10 + bytes[i] - 48;
  }
  if (i === 1 || bytes[i] !== 13 || bytes[i + 1] !== 10) return null;
  const total = count + prefixArgs;
  const header = total < arrayHeaders.length
    ? arrayHeaders[total]
    : encoder.encode(`*${total}\r\n`);
  const rest = bytes.subarray(i + 2);
  const large = rest.length >= WRITE_COPY_MAX_BYTES;
  const out = allocBytes(header.length + prefix.length + (large ? 0 : rest.length));
  out.set(header);
  out.set(prefix, header.length);
  if (large) return [out, rest];
  out.set(rest, header.length + prefix.length);
  return [out];
}

/** The first command not in the `*N\r\n` form (an inline one): parsed and re-encoded. */
function reencodeFirst(bytes: Uint8Array, ms: number): Uint8Array {
  const parser = new RequestParser();
  parser.push(bytes);
  const first = parser.next();
  if (first === null) return bytes;
  const parts = [encodeCommand([encoder.encode("RAFT.AT"), encoder.encode(String(ms)), ...first])];
  for (let args = parser.next(); args !== null; args = parser.next()) {
    parts.push(encodeCommand(args));
  }
  return concatBytes(parts);
}
