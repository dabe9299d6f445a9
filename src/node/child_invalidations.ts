/**
 * @module
 * The stream of keys the node's redis child modifies, for client-side caching: one connection
 * to the child in RESP3 with `CLIENT TRACKING ON BCAST`, on which the child pushes
 * `invalidate [keys]` for every change it makes (applied writes, expiries, evictions) and
 * `invalidate null` for flushes. Ends (and says so) when the child goes away.
 */
import { encodeCommand, ReplyScanner } from "../resp/mod.ts";
import { concatBytes } from "../resp/bytes.ts";
import { writeAll } from "../resp/write_all.ts";
import type { InvalidationSink } from "../server/client_tracking.ts";

const START = concatBytes([
  encodeCommand(["HELLO", "3"]),
  encodeCommand(["CLIENT", "TRACKING", "ON", "BCAST"]),
]);
const decoder = new TextDecoder();

export function openChildInvalidations(
  socketPath: string,
  sink: InvalidationSink,
): { close(): void } {
  let closed = false;
  let conn: Deno.UnixConn | null = null;
  const run = async () => {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
    if (closed) return;
    await writeAll(conn, START);
    const scanner = new ReplyScanner();
    const buffer = new Uint8Array(64 * 1024);
    let answered = 0;
    while (!closed) {
      const n = await conn.read(buffer);
      if (n === null) return;
      scanner.push(buffer.subarray(0, n));
      for (let frame = scanner.next(); frame !== null && !closed; frame = scanner.next()) {
        if (frame[0] === 62 /* '>' */) {
          const keys = invalidatedKeys(frame);
          if (keys !== undefined) sink.invalidate(keys);
        } else if (frame[0] === 45 /* '-' */) {
          throw new Error(decoder.decode(frame).trim());
        } else if (++answered === 2) {
          sink.ready(); // HELLO's map, then CLIENT TRACKING's OK
        }
      }
    }
  };
  run().catch(() => {}).finally(() => {
    try {
      conn?.close();
    } catch { /* closed */ }
    if (!closed) sink.lost();
  });
  return {
    close() {
      closed = true;
      try {
        conn?.close();
      } catch { /* closed */ }
    },
  };
}

const INVALIDATE_HEAD = new TextEncoder().encode(">2\r\n$10\r\ninvalidate\r\n");

/**
 * The keys of an `invalidate` push, as views into `frame` (the push is read by hand: the child
 * sends one for every batch of writes, and a general decoder costs the node a copy per key);
 * null for all; undefined for any other push.
 */
export function invalidatedKeys(frame: Uint8Array): Uint8Array[] | null | undefined {
  if (frame.length < INVALIDATE_HEAD.length + 3) return undefined;
  for (let i = 0; i < INVALIDATE_HEAD.length; i++) {
    if (frame[i] !== INVALIDATE_HEAD[i]) return undefined;
  }
  let at = INVALIDATE_HEAD.length;
  if (frame[at] === 95 /* '_' */) return null;
  if (frame[at] !== 42 /* '*' */) return undefined;
  const readLength = (): number => {
    let value = 0;
    for (at++; frame[at] !== 13; at++) value = value * 10 + frame[at] - 48;
    at += 2; // CRLF
    return value;
  };
  const count = readLength();
  const keys: Uint8Array[] = new Array(count);
  for (let k = 0; k < count; k++) {
    if (frame[at] !== 36 /* '$' */) return undefined;
    const length = readLength();
    keys[k] = frame.subarray(at, at + length);
    at += length + 2;
  }
  return keys;
}
