/**
 * Integration: WATCH aborts EXEC exactly when Redis would, decided identically on every node.
 */
import assert from "node:assert/strict";
import { TestCluster } from "../helpers/test_cluster.ts";

Deno.test("WATCH aborts EXEC after a concurrent write to a watched key, on every node alike", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const a = await leader.client();
    const b = await leader.client();

    assert.equal(await a.call("SET", "k", "0"), "OK");
    assert.equal(await a.call("WATCH", "k"), "OK");
    assert.equal(await b.call("SET", "k", "other"), "OK");
    assert.equal(await a.call("MULTI"), "OK");
    assert.equal(await a.call("SET", "k", "mine"), "QUEUED");
    assert.equal(await a.call("EXEC"), null, "aborted: k changed after WATCH");
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
