/**
 * Integration: scripts and functions replicate deterministically: random commands are refused
 * inside them, order-unstable replies are sorted, EVALSHA and SCRIPT LOAD work cluster-wide,
 * and every node ends with the same dataset.
 */
import assert from "node:assert/strict";
import { RespError } from "../helpers/resp_client.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

Deno.test("EVAL/EVALSHA/SCRIPT LOAD/FCALL are deterministic on every node", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const index = async () =>
      Number(/raft_current_index:(\d+)/.exec(String(await c.call("INFO", "raft")))![1]);
    const before = await index();
    assert.equal(
      await c.call(
        "EVAL",
        "redis.call('SET','key1','value1') redis.call('SET','key2','value2') return 1234",
        "0",
      ),
      1234,
    );
    assert.equal(await index(), before + 1, "one log entry per script");
    for (const random of ["TIME", "RANDOMKEY"]) {
      const reply = await c.call("EVAL", `return redis.call('${random}')`, "0");
      assert.ok(
        reply instanceof RespError &&
          reply.message.includes("Cannot run a command with random results"),
        String(reply),
      );
    }
    assert.equal(await c.call("SADD", "s", "c", "b", "a", "e", "d"), 5);
    assert.deepEqual(await c.call("EVAL", "return redis.call('SMEMBERS', KEYS[1])", "1", "s"), [
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
    assert.equal(await c.call("HSET", "h", "z", "1", "a", "2", "m", "3"), 3);
    assert.deepEqual(await c.call("EVAL", "return redis.call('HGETALL', 'h')", "0"), [
      "a",
      "2",
      "m",
      "3",
      "z",
      "1",
    ]);
    const sha = String(await c.call("SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])"));
    assert.match(sha, /^[0-9a-f]{40}$/);
    assert.deepEqual(
      await c.call("SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000"),
      [1, 0],
    );
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), 1);
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), 2);
    assert.deepEqual(
      await c.call("EVALSHA", "0000000000000000000000000000000000000000", "0"),
      new RespError("NOSCRIPT No matching script. Please use EVAL."),
    );
    assert.equal(
      await c.call("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "key1"),
      "value1",
    );
    assert.equal(
      await c.call(
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\nredis.register_function('members', function(keys) return redis.call('SMEMBERS', keys[1]) end)",
      ),
      "lib",
    );
    assert.deepEqual(await c.call("FCALL", "members", "1", "s"), ["a", "b", "c", "d", "e"]);
    assert.equal(await c.call("MULTI"), "OK");
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), "QUEUED");
    assert.deepEqual(await c.call("EXEC"), [3]);
    const popped = await c.call("SPOP", "s", "2") as string[];
    assert.equal(popped.length, 2);
    c.close();
    await cluster.waitConverged();
    // A new leader still knows the script.
    await (await cluster.leader()).stop();
    assert.equal(await cluster.call(["EVALSHA", sha, "1", "counter"], 20_000), 4);
  } finally {
    await cluster.destroy();
  }
});
