/**
 * Integration: a node under a low open-files limit. It serves the clients that fit beside the
 * descriptors it keeps for itself (INFO's maxclients, reduced with Redis's warning), counting a
 * subscribed client's own connection to the child as a second descriptor, refuses the rest with
 * Redis's max-clients error, and, where its descriptors do run out, keeps serving, and accepts
 * and subscribes again once some are free. A node before this crashed on the first accept that
 * failed (an uncaught "Too many open files"), leaving its redis child behind.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { RespClient } from "../helpers/resp_client.ts";
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

/** Opens `count` connections that each send PING; what each got within `waitMs`. */
async function flood(port: number, count: number, waitMs: number) {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(encoder.encode("PING\r\n"));
  }
  const replies = await firstReplies(conns, waitMs);
  return {
    pong: replies.filter((reply) => reply === "+PONG\r\n").length,
    refused: replies.filter((reply) => reply.startsWith("-ERR max number of clients reached"))
      .length,
    replies,
    close: () => conns.forEach((conn) => conn.close()),
  };
}

const subscribed = "*3\r\n$9\r\nsubscribe\r\n";

/**
 * Connects clients that SUBSCRIBE, one at a time, into `conns` until one is not subscribed (at
 * most `maxCount`): what that one got ("" if nothing within 3 s), undefined if none failed.
 */
async function subscribeUntilRefused(port: number, maxCount: number, conns: Deno.TcpConn[]) {
  for (let i = 0; i < maxCount; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(encoder.encode("SUBSCRIBE news\r\n"));
    const [reply] = await firstReplies([conn], 3000);
    if (!reply.startsWith(subscribed)) return reply;
  }
  return undefined;
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

Deno.test("subscribers' connections to the child share the clients' descriptors: beyond them SUBSCRIBE gets the max-clients error, and the node keeps enough to snapshot", async () => {
  const cluster = await startNode(200, []);
  const subscribers: Deno.TcpConn[] = [];
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    // 200 less the 64 reserved: 136 descriptors for connections and subscriptions together.
    assert.equal(infoField(await admin.call("INFO", "clients"), "maxclients"), "136");
    const refused = await subscribeUntilRefused(node.port, 136, subscribers);
    // The admin connection and 67 subscribers with two each: 135; the 68th's subscription is
    // one too many, its connection is not.
    assert.equal(refused, "-ERR max number of clients reached\r\n");
    assert.equal(subscribers.length, 68);
    const last = subscribers.at(-1)!;
    await last.write(encoder.encode("PING\r\n"));
    assert.deepEqual(await firstReplies([last], 5000), ["+PONG\r\n"]);
    // Now every descriptor is taken: a new connection is refused too.
    const over = await flood(node.port, 1, 5000);
    over.close();
    assert.equal(over.refused, 1, JSON.stringify(over.replies));
    assert.equal(await admin.call("RAFT.DEBUG", "COMPACT"), "OK");
    assert.equal(await admin.call("SET", "k", "v"), "OK");
    assert.equal(await admin.call("PUBLISH", "news", "hello"), 67);
    // One subscriber gone: its place is free again.
    subscribers.shift()!.close();
    await waitFor(async () => {
      await last.write(encoder.encode("SUBSCRIBE news\r\n"));
      const [reply] = await firstReplies([last], 5000);
      return reply.startsWith(subscribed);
    }, "a subscription once one ended");
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
    const failed = await subscribeUntilRefused(node.port, 100, subscribers);
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
      return reply.startsWith(subscribed);
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
    // Only a member's RAFT.HELLO is let in beyond maxclients, and only for peer messages.
    const stranger = await RespClient.connect(full.port);
    await stranger.sendRaw("RAFT.HELLO 424242 127.0.0.1:1\r\n");
    assert.equal(await stranger.readRaw(5000), "-ERR max number of clients reached\r\n");
    assert.ok(await stranger.waitClosed());
    stranger.close();
    const followerClient = await others[0].client();
    const followerId = infoField(await followerClient.call("INFO", "raft"), "raft_node_id");
    followerClient.close();
    const posing = await RespClient.connect(full.port);
    await posing.sendRaw(`RAFT.HELLO ${followerId} 127.0.0.1:1\r\nGET after\r\n`);
    assert.equal(await posing.readRaw(5000), "+OK\r\n");
    assert.equal(await posing.readRaw(5000), "-ERR max number of clients reached\r\n");
    assert.ok(await posing.waitClosed());
    posing.close();
    admin.close();
  } finally {
    for (const conn of fill) conn.close();
    await cluster.destroy();
  }
});
