/**
 * Integration: what an idle client connection costs the node. A node that gave each one a 64 KB
 * read buffer from the start held 66 KB each (measured with 5,000 connections), 660 MB at the
 * default 10,000 clients; now about 18 KB (redis-server 7.0 itself: about 8). And one that once
 * sent a large request holds no more than one that sent a PING: a node that kept each
 * connection's grown read buffer (64 KB) and its parser's (up to 64 KB) held about 105 KB more for
 * each (400 connections after a 30 KB ECHO, live memory after a full GC).
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { parseClients } from "../helpers/client_list.ts";

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

Deno.test("a connection idle after large requests holds kilobytes of buffer again (CLIENT LIST tot-mem), not the 64 KB it read them into", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    const client = await node.client();
    const id = Number(await client.call("CLIENT", "ID"));
    const [idle] = parseClients(await admin.call("CLIENT", "LIST", "ID", String(id)));
    const idleBytes = Number(idle.get("tot-mem"));
    assert.ok(idleBytes > 0 && idleBytes <= 8 * 1024, `a fresh connection: ${[...idle]}`);

    const value = "e".repeat(100_000);
    assert.equal(await client.call("ECHO", value), value);
    const pipelined = Array.from(
      { length: 200 },
      (_, i) => ["SET", `big:${i}`, value.slice(0, 5000)],
    );
    assert.ok((await client.pipeline(pipelined)).every((reply) => reply === "OK"));
    // Read in pieces a parser would gather into a buffer of about 60 KB.
    assert.equal(await client.call("ECHO", value.slice(0, 30_000)), value.slice(0, 30_000));

    const [after] = parseClients(await admin.call("CLIENT", "LIST", "ID", String(id)));
    assert.equal(after.get("qbuf"), "0");
    assert.equal(after.get("omem"), "0");
    const afterBytes = Number(after.get("tot-mem"));
    assert.ok(afterBytes <= 8 * 1024, `after 1.1 MB of requests: ${[...after]}`);
    // INFO's view of the same: the largest input buffer among the node's client connections.
    const clients = await admin.call("INFO", "clients");
    const largest = Number(infoField(clients, "client_recent_max_input_buffer"));
    assert.ok(largest > 0 && largest <= 8 * 1024, String(clients));
    assert.equal(infoField(clients, "client_recent_max_output_buffer"), "0");
    client.close();
    admin.close();
  } finally {
    await cluster.destroy();
  }
});

/** The kernel's timer for the node's end of a client connection ("02": keepalive), by ports. */
function serverSocketTimer(nodePort: number, clientPort: number): string | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    if (fields[1].endsWith(`:${hex(nodePort)}`) && fields[2].endsWith(`:${hex(clientPort)}`)) {
      return fields[5].split(":")[0];
    }
  }
  return undefined;
}

Deno.test("client connections have TCP keepalive on, as Redis's tcp-keepalive: a vanished client's slot is freed", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const reply = new Uint8Array(16);
    assert.equal(
      new TextDecoder().decode(reply.subarray(0, await conn.read(reply) ?? 0)),
      "+PONG\r\n",
    );
    const clientPort = (conn.localAddr as Deno.NetAddr).port;
    assert.equal(serverSocketTimer(node.port, clientPort), "02", "the keepalive timer runs");
    conn.close();
  } finally {
    await cluster.destroy();
  }
});
