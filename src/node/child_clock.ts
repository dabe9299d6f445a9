/**
 * @module
 * The child's clock per command (native/raftclock.c, loaded into the child): an entry's commands
 * go to the child as `RAFT.AT <entry time ms> <command...>`, so every node decides key expiry
 * for the entry at the same moment, also when it replays the log long after. The leader's reads
 * go the same way, at a time no entry still to be applied precedes.
 */
import { allocBytes } from "../resp/byte_slab.ts";
import { encodeCommand, RequestParser } from "../resp/mod.ts";

const encoder = new TextEncoder();

/** Every command in `commandBytes` (`count` of them) run at `timeMs`. */
export function atTime(commandBytes: Uint8Array, count: number, timeMs: number): Uint8Array {
  const ms = String(Math.trunc(timeMs));
  const prefix = encoder.encode(`$7\r\nRAFT.AT\r\n$${ms.length}\r\n${ms}\r\n`);
  return withPrefix(commandBytes, count, prefix, 2);
}

/** Inserts `prefix` (`prefixArgs` RESP bulk strings) after each command's array header. */
function withPrefix(
  commandBytes: Uint8Array,
  count: number,
  prefix: Uint8Array,
  prefixArgs: number,
): Uint8Array {
  if (count === 1) {
    const spliced = spliceOne(commandBytes, prefix, prefixArgs);
    if (spliced) return spliced;
  }
  // Several commands (a transaction), or one not in the `*N\r\n` form: parse and re-encode.
  const parser = new RequestParser();
  parser.push(commandBytes);
  const parts: Uint8Array[] = [];
  const prefixParts = decodePrefix(prefix, prefixArgs);
  for (let args = parser.next(); args !== null; args = parser.next()) {
    parts.push(encodeCommand([...prefixParts, ...args]));
  }
  const out = allocBytes(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `*N\r\n<rest>` becomes `*(N+k)\r\n<prefix><rest>`; null if the header is not that form. */
function spliceOne(bytes: Uint8Array, prefix: Uint8Array, prefixArgs: number): Uint8Array | null {
  if (bytes[0] !== 42 /* '*' */) return null;
  let count = 0;
  let i = 1;
  for (; i < bytes.length && bytes[i] >= 48 && bytes[i] <= 57; i++) {
    count = count * 10 + bytes[i] - 48;
  }
  if (i === 1 || bytes[i] !== 13 || bytes[i + 1] !== 10) return null;
  const header = encoder.encode(`*${count + prefixArgs}\r\n`);
  const rest = bytes.subarray(i + 2);
  const out = allocBytes(header.length + prefix.length + rest.length);
  out.set(header);
  out.set(prefix, header.length);
  out.set(rest, header.length + prefix.length);
  return out;
}

/** The prefix's bulk strings back as arguments (for the re-encoding path). */
function decodePrefix(prefix: Uint8Array, prefixArgs: number): Uint8Array[] {
  const parser = new RequestParser();
  parser.push(encoder.encode(`*${prefixArgs}\r\n`));
  parser.push(prefix);
  return parser.next() ?? [];
}
