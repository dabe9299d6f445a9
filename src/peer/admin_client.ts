/**
 * @module
 * A one-shot RESP client for node-to-node admin requests (RAFT.CLUSTER JOIN sends RAFT.NODE
 * ADD to an existing member): connect, send one command, read one decoded reply, close. Every
 * step is bounded by a timeout. With a password (the nodes' `requirepass`), AUTH goes first.
 */
import { decodeReply, encodeCommand, ReplyScanner, type ReplyValue } from "../resp/mod.ts";
import { writeAll } from "../resp/write_all.ts";
import { concatBytes } from "../resp/bytes.ts";

export async function adminRequest(
  addr: string,
  args: string[],
  timeoutMs: number,
  password = "",
): Promise<ReplyValue> {
  const colon = addr.lastIndexOf(":");
  const deadline = performance.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let conn: Deno.TcpConn | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn?.close();
      reject(new Error(`no reply from ${addr} within ${timeoutMs} ms`));
    }, Math.max(1, deadline - performance.now()));
  });
  const work = (async () => {
    conn = await Deno.connect({
      hostname: addr.slice(0, colon),
      port: Number(addr.slice(colon + 1)),
    });
    const auth = password ? encodeCommand(["AUTH", password]) : new Uint8Array(0);
    await writeAll(conn, concatBytes([auth, encodeCommand(args)]));
    const scanner = new ReplyScanner();
    const buffer = new Uint8Array(16 * 1024);
    let skip = password ? 1 : 0; // AUTH's reply: a wrong password shows in the command's NOAUTH
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`${addr} closed the connection`);
      scanner.push(buffer.subarray(0, n));
      for (let frame = scanner.next(); frame !== null; frame = scanner.next()) {
        if (skip-- > 0) continue;
        return decodeReply(frame);
      }
    }
  })();
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
    work.catch(() => {});
  }
}
