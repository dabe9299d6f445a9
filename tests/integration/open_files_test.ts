/**
 * Integration: a node under a low open-files limit. It serves the clients that fit, at two
 * descriptors each (a subscriber has its own connection to the child), beside the descriptors it
 * keeps for itself (INFO's maxclients, reduced with Redis's warning), refuses the rest with
 * Redis's max-clients error, and, where its descriptors do run out, keeps serving, and accepts
 * and subscribes again once some are free. A node before this crashed on the first accept that
 * failed (an uncaught "Too many open files"), leaving its redis child behind.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The first reply on each of `conns` within `waitMs` ("" if nothing came). */
async function firstReplies(conns: Deno.TcpConn[], waitMs: number): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<string>((resolve) => timer = setTimeout(() => resolve(""), waitMs));
  const replies = await Promise.all(conns.map((conn) => {
    const buffer = new Uint8Array(128);
    const reply = conn.read(buffer).then((n) => decoder.decode(buffer.subarray(0, n ?? 0)))
      .catch(() => "");
    return Promise.race([reply, deadline]);
  }));
  clearTimeout(timer);
  return replies;
}

/**
 * Opens `count` connections that each send `command` (PING by default); what each got within
 * `waitMs`.
 */
async function flood(port: number, count: number, waitMs: number, command = "PING") {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(encoder.encode(`${command}\r\n`));
  }
  const replies = await firstReplies(conns, waitMs);
  const count_ = (start: string) => replies.filter((reply) => reply.startsWith(start)).length;
  return {
    pong: count_("+PONG\r\n"),
    subscribed: count_("*3\r\n$9\r\nsubscribe\r\n"),
    refused: count_("-ERR max number of clients reached"),
    conns,
    replies,
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
    // (200 - 64 reserved) / 2 descriptors per client.
    assert.equal(infoField(await admin.call("INFO", "clients"), "maxclients"), "68");
    assert.deepEqual(await admin.call("CONFIG", "GET", "maxclients"), ["maxclients", "68"]);
    assert.match(
      await node.log(),
      /maxclients has been reduced to 68 to compensate for low ulimit/,
    );

    const clients = await flood(node.port, 120, 10_000);
    try {
      assert.equal(clients.pong, 67, "68 clients with the admin connection");
      assert.equal(clients.refused, 120 - 67);
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

Deno.test("as many subscribers as maxclients allows leave the node the descriptors it needs: each subscribes, and the node snapshots and writes", async () => {
  const cluster = await startNode(200, []);
  const subscribers: Deno.TcpConn[] = [];
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    const maxClients = Number(infoField(await admin.call("INFO", "clients"), "maxclients"));
    // Fills the node's clients with subscribers (the admin connection is the last one).
    const clients = await flood(node.port, maxClients - 1, 10_000, "SUBSCRIBE news");
    subscribers.push(...clients.conns);
    assert.equal(clients.subscribed, maxClients - 1, JSON.stringify([...new Set(clients.replies)]));
    assert.equal(await admin.call("RAFT.DEBUG", "COMPACT"), "OK");
    assert.equal(await admin.call("SET", "k", "v"), "OK");
    assert.equal(await admin.call("PUBLISH", "news", "hello"), maxClients - 1);
    assert.doesNotMatch(await node.log(), /Too many open files/);
    admin.close();
  } finally {
    for (const conn of subscribers) conn.close();
    await cluster.destroy();
  }
});

Deno.test("a node whose descriptors run out keeps serving, and accepts and subscribes again once some are free", async () => {
  // With one descriptor kept for itself its subscribers exhaust them: a subscriber's connection
  // to the child fails, and so does an accept.
  const cluster = await startNode(200, ["--open-files-reserved-count", "1"]);
  const subscribers: Deno.TcpConn[] = [];
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    const probe = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
    await probe.write(encoder.encode("PING\r\n"));
    assert.deepEqual(await firstReplies([probe], 5000), ["+PONG\r\n"]);
    // One at a time until one fails: then no descriptor is free.
    let failed: string | undefined;
    for (let i = 0; i < 100 && failed === undefined; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
      subscribers.push(conn);
      await conn.write(encoder.encode("SUBSCRIBE news\r\n"));
      const [reply] = await firstReplies([conn], 2000);
      if (!reply.startsWith("*3\r\n$9\r\nsubscribe\r\n")) failed = reply;
    }
    assert.ok(subscribers.length > 50, `${subscribers.length} subscribers`);
    assert.ok(failed === "-ERR pub/sub is unavailable\r\n" || failed === "", `failed: ${failed}`);
    const waiting = await Deno.connect({ hostname: "127.0.0.1", port: node.port });
    subscribers.push(waiting);
    await waitFor(
      async () => /Accepting client connection: Too many open files/.test(await node.log()),
      "the failed accept logged",
    );
    assert.equal(await admin.call("SET", "k", "v"), "OK", "connected clients are served");
    await probe.write(encoder.encode("SUBSCRIBE news\r\n"));
    assert.deepEqual(await firstReplies([probe], 5000), ["-ERR pub/sub is unavailable\r\n"]);

    // The descriptors back: the same client subscribes, a new one connects.
    for (const conn of subscribers.splice(0)) conn.close();
    await waitFor(async () => {
      await probe.write(encoder.encode("SUBSCRIBE news\r\n"));
      const [reply] = await firstReplies([probe], 5000);
      return reply.startsWith("*3\r\n$9\r\nsubscribe\r\n");
    }, "the probe subscribed");
    probe.close();
    const later = await waitFor(() => node.client().catch(() => null), "a connection once freed");
    assert.equal(await later.call("GET", "k"), "v");
    later.close();
    admin.close();
  } finally {
    for (const conn of subscribers) conn.close();
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
