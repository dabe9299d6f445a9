/**
 * @module
 * A Deno RESP server that parses each command with the node's parser and answers a nil bulk,
 * with no backend: the fastest any Deno front end can serve a request here. Run by
 * `floor_bench.ts` as its own process: `deno run --allow-net noop_server.ts PORT`.
 */
import { RequestParser } from "../../src/resp/mod.ts";

const port = Number(Deno.args[0]);
const nil = new TextEncoder().encode("$-1\r\n");
const listener = Deno.listen({ hostname: "127.0.0.1", port });

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const parser = new RequestParser();
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      parser.push(buffer.subarray(0, n));
      let replies = 0;
      while (parser.next() !== null) replies++;
      const out = new Uint8Array(replies * nil.length);
      for (let i = 0; i < replies; i++) out.set(nil, i * nil.length);
      for (let sent = 0; sent < out.length;) sent += await conn.write(out.subarray(sent));
    }
  } catch { /* client gone */ }
  conn.close();
}

for await (const conn of listener) serve(conn);
