/**
 * Integration: what an idle client connection costs the node. A node that gave each one a 64 KB
 * read buffer from the start held 66 KB each (measured with 5,000 connections), 660 MB at the
 * default 10,000 clients; now about 18 KB (redis-server 7.0 itself: about 8).
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const connectionCount = 800;
/** Measured about 18 KB each; 64 KB read buffers made it 66. */
const perConnectionMaxKb = 40;

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]);
}

Deno.test("an idle client connection costs the node kilobytes, not a 64 KB read buffer", async () => {
  const cluster = await TestCluster.start(1);
  const conns: Deno.TcpConn[] = [];
  try {
    const node = cluster.nodes[0];
    const client = await node.client();
    const pid = Number(infoField(await client.call("INFO", "server"), "process_id"));
    const before = rssKb(pid);
    const ping = new TextEncoder().encode("PING\r\n");
    const reply = new Uint8Array(16);
    for (let i = 0; i < connectionCount; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
      conns.push(conn);
      await conn.write(ping);
      assert.equal(
        new TextDecoder().decode(reply.subarray(0, await conn.read(reply) ?? 0)),
        "+PONG\r\n",
      );
    }
    const connected = Number(infoField(await client.call("INFO", "clients"), "connected_clients"));
    assert.ok(connected >= connectionCount, `${connected} clients`);
    const perConnectionKb = (rssKb(pid) - before) / connectionCount;
    assert.ok(
      perConnectionKb < perConnectionMaxKb,
      `${perConnectionKb.toFixed(1)} KB of node memory per idle connection`,
    );
    client.close();
  } finally {
    for (const conn of conns) conn.close();
    await cluster.destroy();
  }
});
