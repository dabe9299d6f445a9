/**
 * Integration: client-side caching (CLIENT TRACKING). Its replies and errors byte-for-byte as a
 * plain redis-server's; invalidations for keys a client read (once each, after the read's
 * reply), for writes made through any node, expiries on the log's clock, FLUSHALL, BCAST
 * prefixes, OPTIN, reads inside MULTI, RESP2 redirection to a subscriber, and across a change
 * of leader (the node's own child reports what it applies); node-redis's client-side cache.
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { OpenClients, RespClient } from "../helpers/resp_client.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { waitFor } from "../helpers/node_process.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

/** The push that tells a client to drop its whole cache. */
const invalidateAll = ">2\r\n$10\r\ninvalidate\r\n_\r\n";
const invalidate = (...keys: string[]) =>
  `>2\r\n$10\r\ninvalidate\r\n*${keys.length}\r\n${
    keys.map((k) => `$${k.length}\r\n${k}\r\n`).join("")
  }`;

/** Sequences of CLIENT commands, each run on a fresh connection. */
const sequences: string[][][] = [
  [["CLIENT", "TRACKING", "on", "PREFIX", "x"]],
  [["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]],
  [["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]],
  [["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]],
  [["CLIENT", "TRACKING", "on", "REDIRECT", "x"]],
  [["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab"]],
  [["CLIENT", "TRACKING", "maybe"], ["CLIENT", "TRACKING", "on", "FOO"], ["CLIENT", "TRACKING"]],
  [["CLIENT", "CACHING", "yes"], ["CLIENT", "CACHING", "maybe"], ["CLIENT", "GETREDIR"]],
  [["CLIENT", "TRACKINGINFO"], ["CLIENT", "TRACKING", "off", "BCAST"], ["CLIENT", "TRACKINGINFO"]],
  [
    ["CLIENT", "TRACKING", "on", "OPTIN"],
    ["CLIENT", "CACHING", "no"],
    ["CLIENT", "CACHING", "yes"],
    ["CLIENT", "TRACKINGINFO"],
    ["CLIENT", "TRACKING", "on", "BCAST"],
    ["CLIENT", "TRACKING", "on", "OPTOUT"],
    ["CLIENT", "GETREDIR"],
    ["CLIENT", "TRACKING", "off"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b"],
    ["CLIENT", "TRACKINGINFO"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab"],
    ["CLIENT", "TRACKING", "on", "BCAST"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c"],
    ["CLIENT", "TRACKINGINFO"],
    ["CLIENT", "TRACKING", "off"],
    ["CLIENT", "TRACKING", "on", "BCAST"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x"],
    ["CLIENT", "TRACKINGINFO"],
  ],
];

async function replies(port: number, resp3: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const sequence of sequences) {
    const client = await RespClient.connect(port);
    try {
      if (resp3) await client.callRaw("HELLO", "3");
      for (const command of sequence) out.push(await client.callRaw(...command));
    } finally {
      client.close();
    }
  }
  return out;
}

Deno.test("CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO answer as Redis", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    for (const resp3 of [false, true]) {
      assert.deepEqual(
        await replies(leader.port, resp3),
        await replies(plain.port, resp3),
        `RESP${resp3 ? 3 : 2}`,
      );
    }
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});

Deno.test("tracking clients get invalidations for what changes, once, after their reads", async () => {
  const cluster = await TestCluster.start(3);
  const clients = new OpenClients();
  const connect = (port: number) => clients.connect(port);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const tracked = await connect(leader.port);
    await tracked.callRaw("HELLO", "3");
    assert.equal(await tracked.callRaw("CLIENT", "TRACKING", "ON"), "+OK\r\n");
    const writer = await connect(leader.port);
    assert.equal(await writer.call("SET", "k1", "v1"), "OK");
    assert.equal(await tracked.callRaw("GET", "k1"), "$2\r\nv1\r\n");
    assert.equal(await tracked.callRaw("MGET", "k2", "k3"), "*2\r\n_\r\n_\r\n");

    // A write through another node's proxy: applied by the leader's child, named once.
    const viaFollower = await connect(follower.port);
    assert.equal(await viaFollower.call("CONFIG", "SET", "raft.follower-proxy", "yes"), "OK");
    assert.equal(await viaFollower.call("SET", "k1", "v2"), "OK");
    assert.equal(await tracked.readRaw(5000), invalidate("k1"));
    assert.equal(await writer.call("SET", "k1", "v3"), "OK");
    assert.equal(await writer.call("DEL", "k2", "k3"), 0, "nothing changes: no invalidation");
    assert.equal(await writer.call("SET", "k3", "x"), "OK");
    assert.equal(await tracked.readRaw(5000), invalidate("k3"));
    assert.equal(await tracked.callRaw("PING"), "+PONG\r\n", "k1 was forgotten once named");

    // Pipelined: the read's reply always comes before the invalidation of the write after it.
    for (let round = 0; round < 20; round++) {
      await tracked.sendRaw(`*2\r\n$3\r\nGET\r\n$2\r\nk4\r\n`);
      const write = writer.call("SET", "k4", String(round));
      const first = await tracked.readRaw(5000);
      assert.ok(first.startsWith("$") || first === "_\r\n", `the read's reply first: ${first}`);
      await write;
      assert.equal(await tracked.readRaw(5000), invalidate("k4"));
    }

    // Expiry on the log's clock, read inside MULTI, FLUSHALL.
    assert.equal(await writer.call("SET", "e", "v", "PX", "300"), "OK");
    assert.equal(await tracked.callRaw("GET", "e"), "$1\r\nv\r\n");
    assert.equal(await tracked.readRaw(5000), invalidate("e"), "expired");
    assert.equal(await tracked.callRaw("MULTI"), "+OK\r\n");
    assert.equal(await tracked.callRaw("GET", "m"), "+QUEUED\r\n");
    assert.equal(await tracked.callRaw("EXEC"), "*1\r\n_\r\n");
    assert.equal(await writer.call("SET", "m", "1"), "OK");
    assert.equal(await tracked.readRaw(5000), invalidate("m"));
    // Commands whose keys move: each named key is tracked.
    assert.equal(await tracked.callRaw("ZUNION", "2", "z1", "z2"), "*0\r\n");
    assert.equal(
      await tracked.callRaw("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "ek"),
      "_\r\n",
    );
    assert.equal(await tracked.callRaw("SORT_RO", "sl"), "*0\r\n");
    assert.equal(await tracked.callRaw("XREAD", "COUNT", "1", "STREAMS", "xs", "0"), "_\r\n");
    for (
      const [write, key] of [[["ZADD", "z2", "1", "m"], "z2"], [["SET", "ek", "1"], "ek"], [
        ["RPUSH", "sl", "1"],
        "sl",
      ], [["XADD", "xs", "*", "f", "v"], "xs"]] as const
    ) {
      await writer.call(...write);
      assert.equal(await tracked.readRaw(5000), invalidate(key), write.join(" "));
    }

    assert.equal(await tracked.callRaw("GET", "k1"), "$2\r\nv3\r\n");
    assert.equal(await writer.call("FLUSHALL"), "OK");
    assert.equal(await tracked.readRaw(5000), invalidateAll);

    // BCAST with a prefix: every matching key, read or not.
    const bcast = await connect(leader.port);
    await bcast.callRaw("HELLO", "3");
    assert.equal(
      await bcast.callRaw("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:"),
      "+OK\r\n",
    );
    assert.equal(await writer.call("SET", "other", "1"), "OK");
    assert.equal(await writer.call("MSET", "user:1", "a", "user:2", "b"), "OK");
    assert.equal(await bcast.readRaw(5000), invalidate("user:1", "user:2"));

    // OPTIN: only the read after CLIENT CACHING yes is tracked.
    const optin = await connect(leader.port);
    await optin.callRaw("HELLO", "3");
    assert.equal(await optin.callRaw("CLIENT", "TRACKING", "ON", "OPTIN"), "+OK\r\n");
    assert.equal(await optin.callRaw("GET", "o1"), "_\r\n");
    assert.equal(await optin.callRaw("CLIENT", "CACHING", "yes"), "+OK\r\n");
    assert.equal(await optin.callRaw("GET", "o2"), "_\r\n");
    assert.equal(await optin.callRaw("GET", "o3"), "_\r\n");
    assert.equal(await writer.call("MSET", "o1", "1", "o2", "2", "o3", "3"), "OK");
    assert.equal(await optin.readRaw(5000), invalidate("o2"));
    assert.equal(await optin.callRaw("PING"), "+PONG\r\n");

    // RESP2: invalidations go to a subscriber of __redis__:invalidate (REDIRECT).
    const subscriber = await connect(leader.port);
    const subscriberId = String(await subscriber.call("CLIENT", "ID"));
    await subscriber.call("SUBSCRIBE", "__redis__:invalidate");
    const resp2 = await connect(leader.port);
    assert.equal(await resp2.call("CLIENT", "TRACKING", "ON", "REDIRECT", subscriberId), "OK");
    assert.equal(await resp2.call("CLIENT", "GETREDIR"), Number(subscriberId));
    assert.equal(await resp2.call("GET", "r"), null);
    assert.equal(await writer.call("SET", "r", "1"), "OK");
    assert.deepEqual(await subscriber.read(5000), ["message", "__redis__:invalidate", ["r"]]);
    assert.match(String(await writer.call("CLIENT", "LIST")), /flags=t db=0/);

    // A new leader: the old one's child still applies every write, and still names it.
    assert.equal(await tracked.callRaw("GET", "k5"), "_\r\n");
    const followerId = infoField(await cluster.info(follower), "raft_node_id")!;
    assert.equal(await writer.call("RAFT.TRANSFER_LEADER", followerId), "OK");
    const newLeader = await connect(follower.port);
    assert.equal(await newLeader.call("SET", "k5", "after"), "OK");
    assert.equal(await tracked.readRaw(5000), invalidate("k5"));

    assert.equal(await tracked.callRaw("CLIENT", "TRACKING", "OFF"), "+OK\r\n");
    assert.equal(await newLeader.call("SET", "k1", "off"), "OK");
    assert.equal(await tracked.callRaw("PING"), "+PONG\r\n", "off: nothing more");
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});

Deno.test("node-redis's client-side cache serves repeats locally and sees each write once invalidated", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const url = `redis://${leader.addr}`;
    const cached = createClient({ url, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
    const writer = createClient({ url });
    await cached.connect();
    await writer.connect();
    try {
      const cache = (cached as unknown as { clientSideCache: { stats(): { hitCount: number } } })
        .clientSideCache;
      for (let round = 0; round < 20; round++) {
        await writer.set("csc", String(round));
        // The invalidation of the write is in flight; the cache may answer only once it came.
        const deadline = Date.now() + 5000;
        let value = await cached.get("csc");
        while (value !== String(round) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
          value = await cached.get("csc");
        }
        assert.equal(value, String(round), "the write's value, once invalidated");
        assert.equal(await cached.get("csc"), String(round));
      }
      assert.ok(cache.stats().hitCount >= 20, `served from the cache: ${cache.stats().hitCount}`);
    } finally {
      await cached.quit();
      await writer.quit();
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a follower whose child restarts for a snapshot tells its tracking clients to drop everything", async () => {
  const cluster = await TestCluster.start(3, [
    "--log-max-bytes",
    "32000",
    "--snapshot-min-entries",
    "1",
  ]);
  const clients = new OpenClients();
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const tracked = await clients.connect(follower.port);
    const writer = await clients.connect(leader.port);
    await tracked.callRaw("HELLO", "3");
    assert.equal(await tracked.call("CONFIG", "SET", "raft.follower-proxy", "yes"), "OK");
    assert.equal(await tracked.callRaw("CLIENT", "TRACKING", "ON"), "+OK\r\n");
    assert.equal(
      await tracked.callRaw("GET", "before"),
      "_\r\n",
      "tracked here, read via the leader",
    );

    // Small appends, so the paused follower's socket cannot buffer what it misses.
    assert.equal(
      await writer.call(
        "CONFIG",
        "SET",
        "raft.append-req-max-count",
        "1",
        "raft.append-req-max-size",
        "64",
      ),
      "OK",
    );
    Deno.kill(follower.process!.pid, "SIGSTOP");
    try {
      for (let batch = 0; batch < 8; batch++) {
        await writer.pipeline(
          Array.from({ length: 500 }, (_, i) => ["SET", `fill:${batch}:${i}`, "x".repeat(32)]),
        );
      }
      await waitFor(
        async () => Number(infoField(await cluster.info(leader), "raft_snapshots_created")) >= 2,
        "the leader to compact past the paused follower",
      );
    } finally {
      Deno.kill(follower.process!.pid, "SIGCONT");
    }
    // The follower installs the snapshot (its child restarts): whatever changed is unknown.
    assert.equal(await tracked.readRaw(30_000), invalidateAll);
    await cluster.waitConverged(30_000);
    assert.ok(Number(infoField(await cluster.info(follower), "raft_snapshots_received")) >= 1);

    // The stream to the new child comes back: a read is tracked and its key named again. Until
    // then only null invalidations may come (a later snapshot, or a read made while the node's
    // stream to its new child was not ready yet: both drop everything, which is always safe).
    let named = false;
    for (let round = 0; round < 10 && !named; round++) {
      await tracked.sendRaw(`*2\r\n$3\r\nGET\r\n$5\r\nafter\r\n`);
      let reply = await tracked.readRaw(5000);
      for (let pushes = 0; reply.startsWith(">") && pushes < 10; pushes++) {
        if (reply === invalidate("after")) named = true;
        else assert.equal(reply, invalidateAll);
        reply = await tracked.readRaw(5000);
      }
      assert.equal(reply, round === 0 ? "_\r\n" : `$1\r\n${round - 1}\r\n`);
      assert.equal(await writer.call("SET", "after", String(round)), "OK");
      const push = await tracked.readRaw(10_000);
      if (push === invalidate("after")) named = true;
      else assert.equal(push, invalidateAll);
    }
    assert.ok(named, "the key read after the restart was named when written");
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});

/** INFO's tracking fields of a server, after `setup` ran on connections left open. */
async function trackingInfo(
  port: number,
  setup: (connect: () => Promise<RespClient>) => Promise<void>,
) {
  const clients = new OpenClients();
  try {
    await setup(async () => {
      const client = await clients.connect(port);
      await client.callRaw("HELLO", "3");
      return client;
    });
    const info = await (await clients.connect(port)).call("INFO");
    return [
      "tracking_clients",
      "tracking_total_keys",
      "tracking_total_items",
      "tracking_total_prefixes",
    ].map((field) => `${field}:${infoField(info, field)}`);
  } finally {
    clients.closeAll();
  }
}

Deno.test("INFO counts tracking clients, keys and prefixes as Redis, and drops the ids of readers gone", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(1);
  const clients = new OpenClients();
  try {
    const node = await cluster.leader();
    const setup = async (connect: () => Promise<RespClient>) => {
      const reader = await connect();
      await reader.callRaw("CLIENT", "TRACKING", "ON");
      await reader.callRaw("MGET", "a", "b");
      const other = await connect();
      await other.callRaw("CLIENT", "TRACKING", "ON");
      await other.callRaw("GET", "a");
      await (await connect()).callRaw(
        "CLIENT",
        "TRACKING",
        "ON",
        "BCAST",
        "PREFIX",
        "x",
        "PREFIX",
        "y",
      );
      await (await connect()).callRaw("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x");
    };
    const expected = await trackingInfo(plain.port, setup);
    assert.deepEqual(expected, [
      "tracking_clients:4",
      "tracking_total_keys:2",
      "tracking_total_items:3",
      "tracking_total_prefixes:2",
    ]);
    assert.deepEqual(await trackingInfo(node.port, setup), expected);

    // Readers come and go: the table does not keep every one of them under keys that never
    // change (Redis's does, until the key changes).
    const stays = await clients.connect(node.port);
    await stays.callRaw("HELLO", "3");
    await stays.callRaw("CLIENT", "TRACKING", "ON");
    await stays.callRaw("GET", "shared");
    const goneCount = 200;
    for (let i = 0; i < goneCount; i++) {
      const gone = await RespClient.connect(node.port);
      await gone.callRaw("HELLO", "3");
      await gone.callRaw("CLIENT", "TRACKING", "ON");
      await gone.callRaw("MGET", "shared", `own${i}`);
      gone.close();
    }
    const observer = await clients.connect(node.port);
    const info = await waitFor(async () => {
      const info = await observer.call("INFO");
      return infoField(info, "tracking_clients") === "1" && info;
    }, "the gone readers' connections closed");
    const items = Number(infoField(info, "tracking_total_items"));
    const keys = Number(infoField(info, "tracking_total_keys"));
    assert.ok(items < goneCount / 2, `${items} items remembered (${goneCount * 2 + 1} without)`);
    assert.ok(keys < goneCount / 2, `${keys} keys remembered (${goneCount + 1} without)`);
    // The reader still there is still told.
    assert.equal(await observer.call("SET", "shared", "v"), "OK");
    assert.equal(await stays.readRaw(5000), invalidate("shared"));
  } finally {
    clients.closeAll();
    await cluster.destroy();
    await plain.stop();
  }
});
