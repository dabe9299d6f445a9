/**
 * Integration: WATCH aborts EXEC exactly when Redis would, decided identically on every node.
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

Deno.test("WATCH aborts EXEC after a concurrent write to a watched key, on every node alike", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const a = await leader.client();
    const b = await leader.client();

    const sessions = async () =>
      infoField(String(await b.call("INFO", "raft")), "raft_num_sessions");
    assert.equal(await a.call("SET", "k", "0"), "OK");
    assert.equal(await sessions(), "0");
    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await sessions(), "1", "a WATCHing client is a session, as in RedisRaft");
    assert.equal(await b.call("SET", "k", "other"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "mine"), "QUEUED");
    assert.equal(await a.call("EXEC"), null, "aborted: k changed after WATCH");
    assert.equal(await sessions(), "0", "EXEC ends the WATCH");
    assert.equal(await a.call("GET", "k"), "other");

    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await b.call("SET", "unrelated", "x"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "mine"), "QUEUED");
    assert.deepEqual(await a.call("EXEC"), ["OK"], "a write to another key does not abort");

    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await a.call("SET", "k", "own"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("INCR", "n"), "QUEUED");
    assert.equal(
      await a.call("EXEC"),
      null,
      "the client's own write after WATCH aborts too, as in Redis",
    );

    const replies = await a.pipeline([["SET", "k", "1"], ["WATCH", "k"], ["MULTI"], [
      "SET",
      "k",
      "2",
    ], ["EXEC"]]);
    assert.deepEqual(
      replies,
      ["OK", "OK", "OK", "QUEUED", ["OK"]],
      "a write pipelined before WATCH does not abort",
    );

    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await a.call("UNWATCH"), "OK");
    assert.equal(await b.call("SET", "k", "3"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "4"), "QUEUED");
    assert.deepEqual(await a.call("EXEC"), ["OK"], "UNWATCH forgets the keys");

    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await b.call("FLUSHALL"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "5"), "QUEUED");
    assert.equal(await a.call("EXEC"), null, "FLUSHALL touches every watched key");
    a.close();
    b.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a watch taken before a follower restarts from its snapshot is decided as on the other nodes", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const a = await leader.client();
    const b = await leader.client();
    assert.equal(await a.call("SET", "k", "0"), "OK");
    assert.equal(await a.call("WATCH", "k"), "OK");
    for (let i = 0; i < 10; i++) assert.equal(await b.call("SET", `other:${i}`, "x"), "OK");
    await cluster.waitConverged();
    // The follower's snapshot is taken after the watch; restarted, it replays only what follows.
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const f = await follower.client();
    assert.equal(await f.call("RAFT.DEBUG", "COMPACT"), "OK");
    f.close();
    await follower.stop();
    await follower.spawn();
    await cluster.waitConverged();
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "mine"), "QUEUED");
    const outcome = await a.call("EXEC");
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      const c = await node.client();
      assert.equal(
        await c.call("RAFT.DEBUG", "EXEC", "GET", "k"),
        outcome === null ? "0" : "mine",
        `node ${node.port} (the restarted one: ${node === follower}) after EXEC → ${outcome}`,
      );
      c.close();
    }
    a.close();
    b.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a watch taken before a follower installs the leader's snapshot is decided as on the other nodes", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const a = await leader.client();
    const b = await leader.client();
    assert.equal(await a.call("SET", "k", "0"), "OK");
    await cluster.waitConverged();
    await follower.stop();
    assert.equal(await a.call("WATCH", "k"), "OK");
    for (let i = 0; i < 10; i++) assert.equal(await b.call("SET", `other:${i}`, "x"), "OK");
    // The leader's log now starts after the watch: the follower can only catch up by snapshot.
    assert.equal(await b.call("RAFT.DEBUG", "COMPACT"), "OK");
    await follower.spawn();
    await cluster.waitConverged();
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "mine"), "QUEUED");
    assert.deepEqual(await a.call("EXEC"), ["OK"], "no write touched k");
    await cluster.waitConverged();
    const f = await follower.client();
    assert.equal(await f.call("RAFT.DEBUG", "EXEC", "GET", "k"), "mine");
    f.close();
    a.close();
    b.close();
  } finally {
    await cluster.destroy();
  }
});
