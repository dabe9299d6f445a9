/**
 * Integration: a node under a low open-files limit. It serves the clients that fit beside the
 * descriptors it keeps for itself (INFO's maxclients, reduced with Redis's warning), refuses
 * the rest with Redis's max-clients error, and, where its descriptors do run out, keeps serving
 * and accepts again once some are free. A node before this crashed on the first accept that
 * failed (an uncaught "Too many open files"), leaving its redis child behind.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Opens `count` connections that each send PING; what each got within `waitMs` ("" if nothing). */
async function flood(port: number, count: number, waitMs: number) {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(encoder.encode("PING\r\n"));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<string>((resolve) => timer = setTimeout(() => resolve(""), waitMs));
  const replies = await Promise.all(conns.map((conn) => {
    const buffer = new Uint8Array(64);
    const reply = conn.read(buffer).then((n) => decoder.decode(buffer.subarray(0, n ?? 0)))
      .catch(() => "");
    return Promise.race([reply, deadline]);
  }));
  clearTimeout(timer);
  return {
    pong: replies.filter((reply) => reply === "+PONG\r\n").length,
    refused: replies.filter((reply) => reply.startsWith("-ERR max number of clients reached"))
      .length,
    close: () => conns.forEach((conn) => conn.close()),
  };
}

async function startNode(openFilesMax: number, args: string[]): Promise<TestCluster> {
  const node = await NodeProcess.start({ openFilesMax, args });
  return await TestCluster.form([node]);
}

Deno.test("under a low open-files limit a node reduces maxclients as Redis does and refuses the clients beyond it", async () => {
  // Far beyond what any system allows a process: the limit stays at 200 even for root.
  const cluster = await startNode(200, ["--clients-max-count", "2000000"]);
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    assert.equal(infoField(await admin.call("INFO", "clients"), "maxclients"), "136");
    assert.deepEqual(await admin.call("CONFIG", "GET", "maxclients"), ["maxclients", "136"]);
    assert.match(
      await node.log(),
      /maxclients has been reduced to 136 to compensate for low ulimit/,
    );

    const clients = await flood(node.port, 180, 10_000);
    try {
      assert.equal(clients.pong, 135, "136 clients with the admin connection");
      assert.equal(clients.refused, 180 - 135);
      assert.equal(await admin.call("SET", "k", "v"), "OK");
      // One more, full: its pipelined writes do not run.
      const over = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
      await over.write(encoder.encode("SET k over\r\nSET other over\r\n"));
      const buffer = new Uint8Array(128);
      assert.match(
        decoder.decode(buffer.subarray(0, await over.read(buffer) ?? 0)),
        /^-ERR max number of clients reached\r\n$/,
      );
      over.close();
    } finally {
      clients.close();
    }
    const later = await waitFor(() => node.client().catch(() => null), "a connection once freed");
    assert.equal(await later.call("GET", "k"), "v");
    assert.equal(await later.call("GET", "other"), null);
    later.close();
    admin.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a node whose descriptors run out keeps serving and accepts again once some are free", async () => {
  // With one descriptor kept for itself the clients exhaust them: accepts fail.
  const cluster = await startNode(200, ["--open-files-reserved-count", "1"]);
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    const clients = await flood(node.port, 250, 3000);
    try {
      assert.ok(clients.pong > 100 && clients.pong < 200, `${clients.pong} served`);
      await waitFor(
        async () => /Accepting client connection: Too many open files/.test(await node.log()),
        "the failed accept logged",
      );
      assert.equal(await admin.call("SET", "k", "v"), "OK", "connected clients are served");
    } finally {
      clients.close();
    }
    const later = await waitFor(() => node.client().catch(() => null), "a connection once freed");
    assert.equal(await later.call("GET", "k"), "v");
    later.close();
    admin.close();
  } finally {
    await cluster.destroy();
  }
});

/** Connects PING clients to `port` until one is refused as over maxclients; keeps them open. */
async function fillUp(port: number, conns: Deno.TcpConn[]): Promise<number> {
  for (let served = 0; served < 50; served++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(encoder.encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const reply = decoder.decode(buffer.subarray(0, await conn.read(buffer) ?? 0));
    if (reply.startsWith("-ERR max number of clients reached")) return served;
    assert.equal(reply, "+PONG\r\n");
  }
  throw new Error("never full");
}

Deno.test("a node whose clients fill maxclients still takes its peers back: after both of its followers restarted, it is in the cluster again", async () => {
  const cluster = await TestCluster.start(3, ["--clients-max-count", "12"]);
  const fill: Deno.TcpConn[] = [];
  try {
    const full = await cluster.leader();
    const admin = await full.client();
    // Its child takes as many connections (one per subscriber) and the node's own beside them.
    const childMaxClients = new Deno.Command("redis-cli", {
      args: ["-s", `${full.dir}/redis/redis.sock`, "CONFIG", "GET", "maxclients"],
    }).outputSync();
    assert.equal(new TextDecoder().decode(childMaxClients.stdout), "maxclients\n76\n");
    assert.ok(await fillUp(full.port, fill) > 0);
    const connected = async () =>
      Number(infoField(await admin.call("INFO", "clients"), "connected_clients"));
    const before = await connected();
    const others = cluster.nodes.filter((node) => node !== full);
    for (const node of others) await node.stop();
    await waitFor(async () => await connected() <= before - 2, "the followers' connections gone");
    // The slots they held go to clients before they are back.
    assert.ok(await fillUp(full.port, fill) >= 2);
    for (const node of others) await node.spawn();

    // Whoever leads now (the full node lost its quorum meanwhile), a write goes through...
    await waitFor(
      async () => {
        if (await admin.call("SET", "after", "restarts") === "OK") return true;
        for (const node of others) {
          const client = await node.client().catch(() => null);
          const reply = await client?.call("SET", "after", "restarts").catch(() => null);
          client?.close();
          if (reply === "OK") return true;
        }
        return false;
      },
      "a write after both followers restarted",
      30_000,
    );
    // ... and reaches the full node: its peers' connections were let in beyond maxclients.
    assert.equal(await admin.call("READONLY"), "OK");
    await waitFor(
      async () => await admin.call("GET", "after") === "restarts",
      "the full node to apply the write",
    );
    assert.equal(await fillUp(full.port, fill), 0, "still full of clients");
    admin.close();
  } finally {
    for (const conn of fill) conn.close();
    await cluster.destroy();
  }
});
