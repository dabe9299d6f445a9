/**
 * Integration: RESP3 (HELLO 3). The same commands sent to the cluster (leader, and a follower
 * proxying to it) and to a plain redis-server get byte-for-byte the same replies; RESP2 and
 * RESP3 clients interleaved each get their own; pub/sub pushes, blocked pops, WATCH aborts and
 * the node's own replies (INFO, CONFIG GET, CLIENT, CLUSTER) take RESP3's types.
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { waitFor } from "../helpers/node_process.ts";
import { encodeCommands } from "../helpers/reply_frames.ts";
import { RespClient } from "../helpers/resp_client.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

/** Commands whose replies show every RESP3 type a data command answers with. */
function script(prefix: string): string[][] {
  const k = (name: string) => `${prefix}${name}`;
  return [
    ["SET", k("s"), "v"],
    ["GET", k("s")],
    ["GET", k("missing")],
    ["HSET", k("h"), "f1", "v1", "f2", "v2"],
    ["HGETALL", k("h")],
    ["HRANDFIELD", k("nohash"), "2"],
    ["SADD", k("set"), "a"],
    ["SMEMBERS", k("set")],
    ["ZADD", k("z"), "1.5", "a", "2", "b", "3", "c"],
    ["ZSCORE", k("z"), "a"],
    ["ZSCORE", k("z"), "nobody"],
    ["ZRANGE", k("z"), "0", "-1", "WITHSCORES"],
    ["ZPOPMIN", k("z")],
    ["ZINCRBY", k("z"), "0.25", "b"],
    ["LPOP", k("nolist"), "2"],
    ["LPOS", k("nolist"), "x"],
    ["EXISTS", k("s"), k("missing")],
    ["MULTI"],
    ["GET", k("s")],
    ["HGETALL", k("h")],
    ["ZSCORE", k("z"), "b"],
    ["EXEC"],
    ["EVAL", "return {1, 'two', {3}}", "0"],
    ["EVAL", "return false", "0"],
    ["EVAL", "return true", "0"],
    ["EVAL", "return redis.call('HGETALL', KEYS[1])", "1", k("h")],
    ["EVAL", "return redis.call('GET', KEYS[1])", "1", k("missing")],
    ["HSET", k("h1"), "f", "v"],
    ["EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", "1", k("h1")],
    ["EVAL", "redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])", "1", k("set")],
    ["EVAL", "redis.setresp(3); return redis.call('ZSCORE', KEYS[1], 'c')", "1", k("z")],
    ["BLPOP", k("nolist"), "0.1"],
    ["BLMOVE", k("nolist"), k("other"), "LEFT", "RIGHT", "0.1"],
    ["BZPOPMIN", k("z"), "1"],
    ["ZADD", k("z2"), "5", "m", "6", "n"],
    ["BZMPOP", "1", "1", k("z2"), "MIN", "COUNT", "2"],
    ["CONFIG", "GET", "maxmemory-policy"],
    ["CLIENT", "GETNAME"],
    ["PING"],
    ["ECHO", "x"],
    ["HELLO", "2"],
    ["HGETALL", k("h")],
    ["GET", k("missing")],
    ["ZSCORE", k("z"), "b"],
  ];
}

async function run(client: RespClient, commands: string[][]): Promise<string[]> {
  assert.match(await client.callRaw("HELLO", "3"), /^%7\r\n[^]*\$7\r\nmodules\r\n\*0\r\n$/);
  const replies: string[] = [];
  for (const command of commands) replies.push(await client.callRaw(...command));
  return replies;
}

Deno.test("RESP3 replies are plain Redis 7.0's, on the leader and through a follower's proxy", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3, ["--follower-proxy"]);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const reference = await RespClient.connect(plain.port);
    for (const [name, node] of [["leader", leader], ["follower", follower]] as const) {
      // Blocking commands are not proxied (README): the follower's run leaves them out.
      const commands = script(`${name}:`).filter((c) => name === "leader" || !/^B[LZ]/.test(c[0]));
      const expected = await run(reference, commands);
      await reference.callRaw("HELLO", "2");
      const client = await node.client();
      const got = await run(client, commands);
      client.close();
      for (let i = 0; i < commands.length; i++) {
        const what = `${name}: ${commands[i].join(" ")}`;
        // HELLO's id is the node's own connection id.
        const sameId = (reply: string) => reply.replace(/\$2\r\nid\r\n:\d+\r\n/, "id");
        assert.equal(sameId(got[i]), sameId(expected[i]), what);
      }
    }
    reference.close();
    // The commands' RESP3 types really were exercised (not RESP2 on both sides).
    const probe = await leader.client();
    await probe.callRaw("HELLO", "3");
    assert.equal(
      await probe.callRaw("HGETALL", "leader:h"),
      "%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
    );
    assert.equal(await probe.callRaw("GET", "leader:missing"), "_\r\n");
    assert.equal(await probe.callRaw("ZSCORE", "leader:z", "c"), ",3\r\n");
    probe.close();
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});

Deno.test("RESP2 and RESP3 clients pipelining at once each get their own protocol", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const setup = await leader.client();
    assert.equal(await setup.call("HSET", "h", "f", "v"), 1);
    const resp2 = await leader.client();
    const resp3 = await leader.client();
    await resp3.callRaw("HELLO", "3");
    const count = 300;
    const commands = (i: number) => [["HGETALL", "h"], ["SET", `k${i}`, "x"], ["GET", "missing"]];
    const pipeline = (client: RespClient) => {
      const all = Array.from({ length: count }, (_, i) => commands(i)).flat();
      return client.sendRaw(encodeCommands(all)).then(async () => {
        const replies: string[] = [];
        for (let i = 0; i < all.length; i++) replies.push(await client.readRaw());
        return replies;
      });
    };
    const [two, three] = await Promise.all([pipeline(resp2), pipeline(resp3)]);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(two.slice(i * 3, i * 3 + 3), [
        "*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
        "+OK\r\n",
        "$-1\r\n",
      ]);
      assert.deepEqual(three.slice(i * 3, i * 3 + 3), [
        "%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
        "+OK\r\n",
        "_\r\n",
      ]);
    }
    setup.close();
    resp2.close();
    resp3.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("RESP3: pub/sub pushes with commands between them, blocked pops, WATCH aborts, the node's own replies", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const other = await leader.client();

    // Pub/sub: confirmations and messages are pushes; any command runs while subscribed.
    const subscriber = await leader.client();
    await subscriber.callRaw("HELLO", "3");
    assert.equal(
      await subscriber.callRaw("SUBSCRIBE", "news"),
      ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    assert.equal(await subscriber.callRaw("SET", "during", "sub"), "+OK\r\n");
    assert.equal(await subscriber.callRaw("GET", "during"), "$3\r\nsub\r\n");
    assert.equal(await subscriber.callRaw("PING"), "+PONG\r\n");
    assert.equal(await other.call("PUBLISH", "news", "hi"), 1);
    assert.equal(await subscriber.readRaw(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    // A message reaches a subscriber blocked in BLPOP before the pop's reply, as from Redis.
    await subscriber.sendRaw(encodeCommands([["BLPOP", "jobs", "10"]]));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await other.call("PUBLISH", "news", "while-blocked"), 1);
    assert.equal(
      await subscriber.readRaw(),
      ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$13\r\nwhile-blocked\r\n",
    );
    assert.equal(await other.call("LPUSH", "jobs", "j1"), 1);
    assert.equal(await subscriber.readRaw(), "*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    // HELLO 2 while subscribed: RESP2 rules (and frames) from then on.
    assert.match(await subscriber.callRaw("HELLO", "2"), /^\*14\r\n/);
    assert.match(await subscriber.callRaw("GET", "during"), /^-ERR Can't execute 'get'/);
    assert.equal(await other.call("PUBLISH", "news", "again"), 1);
    assert.equal(
      await subscriber.readRaw(),
      "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nagain\r\n",
    );
    assert.equal(
      await subscriber.callRaw("UNSUBSCRIBE", "news"),
      "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n",
    );
    subscriber.close();

    // Blocked pops: served later with a double score; timed out with RESP3's null.
    const blocked = await leader.client();
    await blocked.callRaw("HELLO", "3");
    await blocked.sendRaw(encodeCommands([["BZPOPMIN", "zq", "10"]]));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await other.call("ZADD", "zq", "2.5", "m"), 1);
    assert.equal(await blocked.readRaw(), "*3\r\n$2\r\nzq\r\n$1\r\nm\r\n,2.5\r\n");
    assert.equal(await blocked.callRaw("BLPOP", "nolist", "0.2"), "_\r\n");
    // A WATCHed key changed: EXEC answers RESP3's null.
    assert.equal(await blocked.callRaw("WATCH", "w"), "+OK\r\n");
    assert.equal(await other.call("SET", "w", "changed"), "OK");
    assert.equal(await blocked.callRaw("MULTI"), "+OK\r\n");
    assert.equal(await blocked.callRaw("GET", "w"), "+QUEUED\r\n");
    assert.equal(await blocked.callRaw("EXEC"), "_\r\n");

    // The node's own replies.
    assert.match(await blocked.callRaw("INFO", "raft"), /^=\d+\r\ntxt:# raft_version\r\n/);
    assert.match(
      await blocked.callRaw("INFO", "cluster"),
      /^=\d+\r\ntxt:# Cluster\r\ncluster_enabled:1\r\n/,
    );
    assert.match(
      await blocked.callRaw("CONFIG", "GET", "raft.follower-proxy"),
      /^%1\r\n\$19\r\nraft\.follower-proxy\r\n/,
    );
    assert.equal(await blocked.callRaw("CLIENT", "GETNAME"), "_\r\n");
    assert.match(await blocked.callRaw("CLIENT", "INFO"), /^=\d+\r\ntxt:id=\d+ .* resp=3\n\r\n$/);
    assert.match(await blocked.callRaw("CLUSTER", "NODES"), /^=\d+\r\ntxt:[0-9a-f]{40} /);
    assert.match(await blocked.callRaw("CLUSTER", "SHARDS"), /^\*1\r\n%2\r\n\$5\r\nslots\r\n/);
    const hello = await blocked.callRaw("HELLO");
    assert.match(hello, /^%7\r\n/, "HELLO without a version answers in the current one");
    assert.match(hello, /\$5\r\nproto\r\n:3\r\n/);
    // RESET goes back to RESP2.
    assert.equal(await blocked.callRaw("RESET"), "+RESET\r\n");
    assert.equal(await blocked.callRaw("GET", "missing"), "$-1\r\n");
    // A HELLO pipelined behind a blocked pop changes the replies after it, not the pop's.
    await blocked.sendRaw(
      encodeCommands([["BLPOP", "nolist", "0.3"], ["HELLO", "3"], ["GET", "missing"]]),
    );
    assert.equal(await blocked.readRaw(), "*-1\r\n");
    assert.match(await blocked.readRaw(), /^%7\r\n/);
    assert.equal(await blocked.readRaw(), "_\r\n");
    await blocked.callRaw("HELLO", "2");
    assert.equal(await blocked.callRaw("HELLO", "4"), "-NOPROTO unsupported protocol version\r\n");
    assert.equal(
      await blocked.callRaw("HELLO", "03"),
      "-ERR Protocol version is not an integer or out of range\r\n",
    );
    blocked.close();
    other.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a RESP3 client library (node-redis, RESP: 3) works against the cluster", async () => {
  const cluster = await TestCluster.start(1);
  const redis = createClient({ url: `redis://${cluster.nodes[0].addr}`, RESP: 3 });
  const subscriber = redis.duplicate();
  try {
    await redis.connect();
    assert.equal(await redis.hSet("h", { a: "1", b: "2" }), 2);
    assert.deepEqual({ ...(await redis.hGetAll("h")) }, { a: "1", b: "2" });
    assert.equal(await redis.zAdd("z", { score: 1.5, value: "m" }), 1);
    assert.equal(await redis.zScore("z", "m"), 1.5);
    assert.equal(await redis.get("missing"), null);
    assert.deepEqual([...(await redis.sMembers("s"))], []);
    await subscriber.connect();
    const received = new Promise<string>((resolve) => subscriber.subscribe("ch", resolve));
    await waitFor(
      async () => (await redis.publish("ch", "hi")) === 1 ? true : undefined,
      "subscribed",
    );
    assert.equal(await received, "hi");
  } finally {
    await subscriber.quit().catch(() => {});
    await redis.quit().catch(() => {});
    await cluster.destroy();
  }
});
