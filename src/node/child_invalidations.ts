/**
 * @module
 * The stream of keys the node's redis child modifies, for client-side caching: one connection
 * to the child in RESP3 with `CLIENT TRACKING ON BCAST`, on which the child pushes
 * `invalidate [keys]` for every change it makes (applied writes, expiries, evictions) and
 * `invalidate null` for flushes. Ends (and says so) when the child goes away.
 */
import { decodeReply, encodeCommand, ReplyScanner } from "../resp/mod.ts";
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
          const keys = invalidatedKeys(decodeReply(frame, { bulk: "bytes" }));
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

/** The keys of an `invalidate` push; null for all; undefined for any other push. */
function invalidatedKeys(push: unknown): Uint8Array[] | null | undefined {
  if (!Array.isArray(push) || push.length !== 2) return undefined;
  const kind = push[0] instanceof Uint8Array ? decoder.decode(push[0]) : String(push[0]);
  if (kind !== "invalidate") return undefined;
  if (push[1] === null) return null;
  if (!Array.isArray(push[1])) return undefined;
  return push[1].filter((key): key is Uint8Array => key instanceof Uint8Array);
}
