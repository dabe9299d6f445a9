/**
 * Integration: 3-node clusters of real node processes (each with its redis-server child) on
 * 127.0.0.1, driven with redis-cli and a raw RESP client: the README walkthrough, replication,
 * redirects, failover, restarts and no-quorum behaviour.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { type RespClient, RespError } from "../helpers/resp_client.ts";
import { encodeCommands } from "../helpers/reply_frames.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";
import { assertPausedLeaderNeverReadsStale } from "../helpers/paused_leader.ts";
import { redisCli } from "../../scripts/redis_cli.ts";

Deno.test("README walkthrough: INIT, JOIN (also via a follower), writes on the leader, MOVED on followers", async () => {
  const nodes = await Promise.all([0, 1, 2].map(() => NodeProcess.start({ args: fastTimers })));
  try {
    const [n1, n2, n3] = nodes;
    assert.match(await redisCli(n1.port, "RAFT.CLUSTER", "INIT"), /^OK [0-9a-f]{32}$/);
    assert.equal(await redisCli(n2.port, "RAFT.CLUSTER", "JOIN", n1.addr), "OK");
    assert.equal(
      await redisCli(n3.port, "RAFT.CLUSTER", "JOIN", n2.addr),
      "OK",
      "JOIN via a follower",
    );
    const cluster = new TestCluster(nodes);
    // JOIN answers once the node is a member; the leader promotes it to voter once it caught up.
    await waitFor(async () => {
      const voting = infoField(await redisCli(n1.port, "INFO", "raft"), "raft_num_voting_nodes");
      return voting === "3" ? true : undefined;
    }, "every node voting");
    await cluster.waitConverged();
    const info = await redisCli(n1.port, "INFO", "raft");
    assert.equal(infoField(info, "raft_role"), "leader");
    assert.equal(infoField(info, "raft_num_nodes"), "3");
    assert.equal(infoField(info, "raft_num_voting_nodes"), "3");
    assert.equal(infoField(info, "raft_current_index"), "6", "INIT 2 entries + 2 per join");
    assert.equal(await redisCli(n1.port, "SET", "greeting", "hello"), "OK");
    assert.equal(await redisCli(n1.port, "GET", "greeting"), "hello");
    assert.equal(infoField(await redisCli(n1.port, "INFO", "raft"), "raft_current_index"), "7");
    for (const follower of [n2, n3]) {
      assert.equal(await redisCli(follower.port, "SET", "k", "v"), `MOVED 0 ${n1.addr}`);
      assert.equal(await redisCli(follower.port, "GET", "greeting"), `MOVED 0 ${n1.addr}`);
      const followerInfo = await redisCli(follower.port, "INFO", "raft");
      assert.equal(infoField(followerInfo, "raft_role"), "follower");
      assert.equal(infoField(followerInfo, "raft_leader_id"), infoField(info, "raft_node_id"));
      await waitFor(
        async () =>
          (await redisCli(follower.port, "RAFT.DEBUG", "EXEC", "GET", "greeting")) === "hello",
        "the write to reach the follower",
      );
    }
    assert.match(
      await redisCli(n1.port, "RAFT.CLUSTER", "JOIN", n2.addr),
      /Already cluster member/,
    );
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
});

Deno.test("every write reaches every node: equal digests at equal applied index", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const client = await leader.client();
    const commands: string[][] = [];
    for (let i = 0; i < 300; i++) {
      commands.push(["SET", `key:${i}`, `value:${i}`], ["INCR", "counter"], [
        "RPUSH",
        "list",
        String(i),
      ]);
    }
    // PFCOUNT is flagged readonly but rewrites the HyperLogLog's cached cardinality: it must run
    // on every node, or the key's bytes differ between the leader and the followers.
    commands.push(["PFADD", "hll", "a", "b", "c"], ["PFCOUNT", "hll"], ["PFADD", "hll", "d"]);
    commands.push(["PFCOUNT", "hll"]);
    const replies = await client.pipeline(commands);
    assert.deepEqual(replies.slice(-4), [1, 3, 1, 4]);
    client.close();
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      const c = await node.client();
      assert.equal(await c.call("RAFT.DEBUG", "EXEC", "GET", "counter"), "300");
      assert.equal(await c.call("RAFT.DEBUG", "EXEC", "LLEN", "list"), 300);
      // With no streams the digest is the child's own DEBUG DIGEST.
      const [, digest] = await c.call("RAFT.DEBUG", "DIGEST") as [number, string];
      assert.equal(digest, await c.call("RAFT.DEBUG", "EXEC", "DEBUG", "DIGEST"));
      c.close();
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("leader kill -9 during writes: a new leader takes over, acknowledged writes survive, the old leader catches up", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const acked: number[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const reply = await cluster.call(["RPUSH", "log", String(i)], 10_000, false);
        if (typeof reply === "number") acked.push(i);
      }
    })();
    await new Promise((r) => setTimeout(r, 700));
    const oldLeader = await cluster.leader();
    await oldLeader.crash();
    const others = cluster.nodes.filter((n) => n !== oldLeader);
    const newLeader = await cluster.leader(10_000, others);
    assert.notEqual(newLeader, oldLeader);
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await writer;
    await oldLeader.spawn();
    await cluster.waitConverged(30_000);
    const list = (await cluster.call(["LRANGE", "log", "0", "-1"]) as string[]).map(Number);
    for (const value of acked) assert.ok(list.includes(value), `acknowledged ${value} present`);
    assert.equal(new Set(list).size, list.length, "no duplicates");
    assert.ok(acked.length > 5, "writes made progress around the failover");
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a paused follower and a restarted follower catch up; a full-cluster restart keeps the data", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    Deno.kill(follower.process!.pid, "SIGSTOP");
    for (let i = 0; i < 50; i++) assert.equal(await cluster.call(["INCR", "c"]), i + 1);
    Deno.kill(follower.process!.pid, "SIGCONT");
    await cluster.waitConverged();
    await follower.stop();
    for (let i = 50; i < 100; i++) assert.equal(await cluster.call(["INCR", "c"]), i + 1);
    await follower.spawn();
    await cluster.waitConverged();
    await Promise.all(cluster.nodes.map((n) => n.stop()));
    await Promise.all(cluster.nodes.map((n) => n.spawn()));
    assert.equal(await cluster.call(["GET", "c"], 20_000), "100");
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("without a quorum writes do not succeed and reads time out; service resumes with the quorum", async () => {
  const cluster = await TestCluster.start(3, ["--request-timeout-ms", "1500"]);
  try {
    const leader = await cluster.leader();
    assert.equal(await cluster.call(["SET", "k", "before"]), "OK");
    const followers = cluster.nodes.filter((n) => n !== leader);
    await Promise.all(followers.map((n) => n.stop()));
    const client = await leader.client();
    const write = await client.call("SET", "k", "during");
    assert.ok(
      write instanceof RespError && /^(TIMEOUT|CLUSTERDOWN)/.test(write.message),
      String(write),
    );
    const read = await client.call("GET", "k");
    assert.ok(
      read instanceof RespError && /^(TIMEOUT|CLUSTERDOWN|MOVED)/.test(read.message),
      String(read),
    );
    client.close();
    await Promise.all(followers.map((n) => n.spawn()));
    const value = await cluster.call(["GET", "k"], 20_000);
    assert.ok(value === "before" || value === "during", `got ${value}`);
    assert.equal(await cluster.call(["SET", "k", "after"]), "OK");
    assert.equal(await cluster.call(["GET", "k"]), "after");
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a paused leader with a read waiting never answers it from before the new leader's write", async () => {
  const cluster = await TestCluster.start(3);
  try {
    await assertPausedLeaderNeverReadsStale(cluster, 4);
  } finally {
    await cluster.destroy();
  }
});

Deno.test("TTLs are absolute: a key with a TTL vanishes on every node", async () => {
  const cluster = await TestCluster.start(3);
  try {
    assert.equal(await cluster.call(["SET", "e1", "v", "PX", "300"]), "OK");
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await cluster.call(["GET", "e1"]), null);
    for (const node of cluster.nodes) {
      const c = await node.client();
      assert.equal(await c.call("RAFT.DEBUG", "EXEC", "EXISTS", "e1"), 0);
      c.close();
    }
  } finally {
    await cluster.destroy();
  }
});

/** A peer connection's reply to `args`: the progress acks (`+OK`) a peer gets now and then are skipped. */
async function peerCall(client: RespClient, ...args: (string | Uint8Array)[]): Promise<unknown> {
  let reply = await client.call(...args);
  for (let i = 0; i < 10 && reply === "OK"; i++) reply = await client.read(5_000);
  return reply;
}

Deno.test("hostile input on the shared port: fake peer messages and garbage harm nothing", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    assert.equal(await cluster.call(["SET", "safe", "1"]), "OK");
    const intruder = await leader.client();
    assert.match(String(await intruder.call("RAFT.MSG", "xyz")), /only accepted from peers/);
    assert.equal(await intruder.call("RAFT.HELLO", "424242", "127.0.0.1:1"), "OK");
    assert.match(
      String(await peerCall(intruder, "RAFT.MSG", "\x01\x02garbage")),
      /^ERR invalid message/,
    );
    assert.match(
      String(await peerCall(intruder, "RAFT.MSG", new Uint8Array(64))),
      /^ERR invalid message/,
    );
    // A peer keeps one link: its newer hello closes the older connection (and what it carries).
    const newer = await leader.client();
    assert.equal(await newer.call("RAFT.HELLO", "424242", "127.0.0.1:1"), "OK");
    assert.ok(await intruder.waitClosed(5_000), "the older connection of the same peer is closed");
    assert.match(String(await peerCall(newer, "RAFT.MSG", "xyz")), /^ERR invalid message/);
    newer.close();
    intruder.close();
    const garbage = await leader.client();
    await garbage.sendRaw("*2\r\n$8\r\nRAFT.MSG\r\n$-7\r\n");
    assert.match(String(await garbage.read()), /Protocol error/);
    assert.equal(await cluster.call(["GET", "safe"]), "1");
    assert.equal(await cluster.call(["INCR", "safe"]), 2);
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--follower-proxy: followers forward commands and transactions to the leader, not waits", async () => {
  const cluster = await TestCluster.start(3, ["--follower-proxy"]);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const client = await follower.client();
    assert.equal(await client.call("SET", "p", "1"), "OK");
    assert.equal(await client.call("INCR", "p"), 2);
    assert.equal(await client.call("GET", "p"), "2");
    assert.equal(await client.call("MULTI"), "OK");
    assert.equal(await client.call("INCR", "p"), "QUEUED");
    assert.equal(await client.call("GET", "p"), "QUEUED");
    assert.deepEqual(await client.call("EXEC"), [3, "3"]);
    const replies = await client.pipeline(
      Array.from({ length: 200 }, (_, i) => ["RPUSH", "pl", String(i)]),
    );
    assert.deepEqual(replies, Array.from({ length: 200 }, (_, i) => i + 1), "in order");
    assert.match(infoField(await client.call("INFO", "raft"), "raft_proxy_reqs") ?? "", /^[1-9]/);
    // A wait would hold every proxied reply behind it on the one connection to the leader.
    assert.deepEqual(
      await client.call("BLPOP", "nothing", "0"),
      new RespError(
        "ERR blocking commands are not supported through the follower proxy; connect to the leader",
      ),
    );
    assert.deepEqual(
      await client.call("WATCH", "p"),
      new RespError("ERR WATCH is not supported through the follower proxy; connect to the leader"),
    );
    assert.equal(await client.call("MULTI"), "OK");
    assert.equal(await client.call("BLPOP", "nothing", "0"), "QUEUED");
    assert.deepEqual(await client.call("EXEC"), [null], "in MULTI it does not block, as in Redis");
    client.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--read-mode stale: followers answer reads from local state", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "stale"]);
  try {
    assert.equal(await cluster.call(["SET", "s", "v"]), "OK");
    await cluster.waitConverged();
    const leader = await cluster.leader();
    for (const node of cluster.nodes.filter((n) => n !== leader)) {
      const client = await node.client();
      assert.equal(await client.call("GET", "s"), "v");
      assert.deepEqual(await client.call("SET", "s", "w"), new RespError(`MOVED 0 ${leader.addr}`));
      client.close();
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--cluster-password: peers authenticate in RAFT.HELLO; a wrong password is refused", async () => {
  const cluster = await TestCluster.start(3, ["--cluster-password", "s3cret"]);
  try {
    assert.equal(await cluster.call(["SET", "k", "v"]), "OK");
    await cluster.waitConverged();
    const leader = await cluster.leader();
    const intruder = await leader.client();
    assert.deepEqual(
      await intruder.call("RAFT.HELLO", "99", "127.0.0.1:1", "wrong"),
      new RespError("WRONGPASS invalid cluster password"),
    );
    assert.deepEqual(
      await intruder.call("RAFT.HELLO", "99", "127.0.0.1:1"),
      new RespError("WRONGPASS invalid cluster password"),
    );
    assert.match(String(await intruder.call("RAFT.MSG", "x")), /only accepted from peers/);
    assert.match(
      String(await intruder.call("RAFT.NODESHUTDOWN", "1", "0".repeat(32))),
      /WRONGPASS/,
    );
    intruder.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--read-mode lease: the leader reads without a round while its lease lasts, then refuses", async () => {
  const cluster = await TestCluster.start(3, [
    "--read-mode",
    "lease",
    "--request-timeout-ms",
    "2000",
  ]);
  try {
    assert.equal(await cluster.call(["SET", "l", "1"]), "OK");
    const leader = await cluster.leader();
    const client = await leader.client();
    assert.equal(await client.call("GET", "l"), "1");
    await Promise.all(cluster.nodes.filter((n) => n !== leader).map((n) => n.stop()));
    // Without a quorum the lease runs out (and CheckQuorum steps the leader down): no stale read.
    const reply = await waitFor(
      async () => {
        const r = await client.call("GET", "l");
        return r instanceof RespError ? r : undefined;
      },
      "reads to be refused once the lease is gone",
      10_000,
    );
    assert.match(reply.message, /^(TIMEOUT|CLUSTERDOWN|MOVED)/);
    client.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--read-mode stale: a restarted node never answers from state older than it had", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "stale"]);
  try {
    const leader = await cluster.leader();
    const writer = await leader.client();
    const writesCount = 3000;
    const replies = await writer.pipeline(
      Array.from({ length: writesCount }, (_, i) => ["SET", "n", String(i + 1)]),
    );
    assert.ok(replies.every((r) => r === "OK"));
    writer.close(); // every write acknowledged: the leader has applied them all

    // It restarts under a new leader, whose progress for it starts from nothing (so the first
    // heartbeat it hears names a leader but carries no commit index); the commit index on its disk
    // is the one of its last term change, before the writes.
    await leader.crash();
    await cluster.leader(15_000, cluster.nodes.filter((n) => n !== leader));
    await leader.spawn();
    const seen: string[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const c = await leader.client();
      const reply = await c.call("GET", "n");
      c.close();
      if (reply === null || typeof reply === "string") seen.push(reply ?? "(nil)");
      if (reply === String(writesCount)) break;
    }
    assert.deepEqual(seen.filter((v) => v !== String(writesCount)), [], "older state served");
    assert.equal(seen.at(-1), String(writesCount));
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--read-mode stale: a restarted node whose log tail is replaced serves again", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "stale"]);
  try {
    const leader = await cluster.leader();
    const followers = cluster.nodes.filter((n) => n !== leader);
    assert.equal(await cluster.call(["SET", "k", "v"]), "OK");
    await cluster.waitConverged();

    // Writes the leader logs but cannot commit (its followers are down), then it dies too.
    const before = await cluster.lastIndex(leader);
    for (const f of followers) await f.crash();
    const writer = await leader.client();
    const uncommittedCount = 50;
    await writer.sendRaw(
      encodeCommands(Array.from({ length: uncommittedCount }, (_, i) => ["SET", "u", String(i)])),
    );
    await waitFor(
      async () => await cluster.lastIndex(leader) > before, // pipelined writes may share one entry
      "the leader to log the writes",
    );
    writer.close();
    await leader.crash();
    for (const f of followers) await f.spawn();
    await cluster.leader(15_000, followers);

    // Its log ends past the new leader's: the new leader replaces that tail, and with no more
    // writes the node must serve reads again all the same (never the lost writes).
    await leader.spawn();
    const c = await leader.client();
    try {
      await waitFor(
        async () => await c.call("GET", "k") === "v",
        "stale reads on the restarted node",
      );
      assert.equal(await c.call("GET", "u"), null);
    } finally {
      c.close();
    }
  } finally {
    await cluster.destroy();
  }
});
