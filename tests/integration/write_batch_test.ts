/**
 * Writes proposed together share one log entry (a Batch): every command still gets its own
 * reply, in its connection's order, with Redis's semantics between the commands of a batch
 * (a blocked client is served right after the push that wakes it), a larger write goes alone
 * past --write-batch-max-bytes, and every node ends with the same data.
 */
import assert from "node:assert/strict";
import { encodeCommands } from "../helpers/reply_frames.ts";
import { TestCluster, waitBlockedClients } from "../helpers/test_cluster.ts";

Deno.test("pipelined writers share entries; each gets its own replies; nodes agree", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const writersCount = 8;
    const perWriter = 200;
    const writers = await Promise.all(
      Array.from({ length: writersCount }, () => leader.client()),
    );
    const before = await cluster.lastIndex(leader);
    const replies = await Promise.all(writers.map((client, w) =>
      client.pipeline(
        Array.from({ length: perWriter }, (_, i) =>
          i % 2 === 0 ? ["INCR", "counter"] : ["RPUSH", `list:${w}`, String(i)]),
      )
    ));
    const entries = await cluster.lastIndex(leader) - before;
    const commands = writersCount * perWriter;
    assert.ok(entries < commands / 4, `${commands} writes took ${entries} entries`);
    const counts: number[] = [];
    replies.forEach((own) => {
      const incrs = own.filter((_, i) => i % 2 === 0) as number[];
      const pushes = own.filter((_, i) => i % 2 === 1);
      assert.deepEqual(pushes, Array.from({ length: perWriter / 2 }, (_, i) => i + 1));
      for (let i = 1; i < incrs.length; i++) assert.ok(incrs[i] > incrs[i - 1], "own order");
      counts.push(...incrs);
    });
    counts.sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: commands / 2 }, (_, i) => i + 1));
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      const c = await node.client();
      assert.equal(await c.call("RAFT.DEBUG", "EXEC", "GET", "counter"), String(commands / 2));
      c.close();
    }
    for (const c of writers) c.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("inside a batch: a blocked client is served at its push; a script keeps its place", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const waiter = await node.client();
    const writer = await node.client();
    const admin = await node.client();
    const popped = waiter.call("BLPOP", "queue", "0");
    await waitBlockedClients(admin, 1);
    // One write: both commands are proposed together. As in Redis, the waiter takes the pushed
    // element right after the push, before the LPOP runs.
    const before = await cluster.lastIndex(node);
    await writer.sendRaw(encodeCommands([["RPUSH", "queue", "a"], ["LPOP", "queue"]]));
    assert.equal(await writer.read(), 1);
    assert.equal(await writer.read(), null);
    assert.deepEqual(await popped, ["queue", "a"]);
    assert.equal(await cluster.lastIndex(node) - before, 1, "one entry for both");
    // A script (never batched) between batched writes of one connection stays between them.
    const replies = await writer.pipeline([
      ["SET", "k", "1"],
      ["EVAL", "return redis.call('APPEND', KEYS[1], '2')", "1", "k"],
      ["APPEND", "k", "3"],
    ]);
    assert.deepEqual(replies, ["OK", 2, 3]);
    assert.equal(await admin.call("GET", "k"), "123");
    for (const c of [waiter, writer, admin]) c.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--write-batch-max-bytes bounds an entry: larger writes go one by one", async () => {
  const cluster = await TestCluster.start(1, ["--write-batch-max-bytes", "200"]);
  try {
    const node = cluster.nodes[0];
    const client = await node.client();
    const value = "v".repeat(100);
    const before = await cluster.lastIndex(node);
    const small = await client.pipeline(
      Array.from({ length: 10 }, (_, i) => ["SET", `s${i}`, "x"]),
    );
    const afterSmall = await cluster.lastIndex(node);
    const large = await client.pipeline(
      Array.from({ length: 10 }, (_, i) => ["SET", `l${i}`, value]),
    );
    const afterLarge = await cluster.lastIndex(node);
    assert.deepEqual([...small, ...large], Array(20).fill("OK"));
    // About 40 bytes each: several share an entry, but not all ten (400 bytes > 200).
    const smallEntries = afterSmall - before;
    assert.ok(smallEntries >= 2 && smallEntries <= 5, `10 small writes in ${smallEntries} entries`);
    assert.equal(afterLarge - afterSmall, 10, "each large write alone");
    assert.equal(await client.call("GET", "l9"), value);
    // A read right behind writes that did not fit one batch sees the last of them.
    const readBehind = await client.pipeline([["SET", "m0", value], ["SET", "m1", value], [
      "GET",
      "m1",
    ]]);
    assert.deepEqual(readBehind, ["OK", "OK", value]);
    client.close();
  } finally {
    await cluster.destroy();
  }
});
