/**
 * Integration: every node's child runs each entry at the time the leader gave it (the clock
 * library), so key expiry is decided alike everywhere: a node that replays its log after the
 * keys' deadlines (from the log alone, or from a snapshot taken before them) does not bring back
 * keys that expired, and a script's relative expiry gives one deadline on every node.
 */
import assert from "node:assert/strict";
import { type NodeProcess } from "../helpers/node_process.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

async function onNode(node: NodeProcess, ...args: string[]) {
  const client = await node.client();
  try {
    return await client.call("RAFT.DEBUG", "EXEC", ...args);
  } finally {
    client.close();
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("a replay after the deadlines keeps expired keys expired; scripts' expiries agree", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const [replayer, snapshotter] = cluster.nodes.filter((n) => n !== leader);
    const client = await leader.client();
    try {
      // Written before its deadline, modified in place before it too.
      assert.equal(await client.call("SET", "counter", "10", "PX", "1500"), "OK");
      assert.equal(await client.call("INCR", "counter"), 11);
      assert.equal(await client.call("HSET", "session", "user", "ann"), 1);
      assert.equal(await client.call("PEXPIRE", "session", "1500"), 1);
      assert.equal(await client.call("HSET", "session", "seen", "1"), 1);
      assert.equal(await client.call("SET", "snap", "v", "PX", "2500"), "OK");
      await cluster.waitConverged();
      // A snapshot on one follower holds `snap` with its deadline; the APPEND after it is in
      // that follower's log only.
      assert.equal(await onNodeAdmin(snapshotter, "RAFT.DEBUG", "COMPACT"), "OK");
      assert.equal(await client.call("APPEND", "snap", "x"), 2);
      const relative = await client.call(
        "EVAL",
        "redis.call('set', KEYS[1], 'v') return redis.call('pexpire', KEYS[1], 600000)",
        "1",
        "scripted",
      );
      assert.equal(relative, 1);
    } finally {
      client.close();
    }
    await cluster.waitConverged();
    const deadlines = await Promise.all(
      cluster.nodes.map((n) => onNode(n, "PEXPIRETIME", "scripted")),
    );
    assert.equal(new Set(deadlines).size, 1, `one deadline everywhere: ${deadlines}`);

    await sleep(3000); // every deadline above has passed
    await replayer.stop();
    await snapshotter.stop();
    await replayer.spawn(); // replays its whole log
    await snapshotter.spawn(); // loads its snapshot, replays the APPEND
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      for (const key of ["counter", "session", "snap"]) {
        assert.equal(await onNode(node, "EXISTS", key), 0, `${key} stays expired on ${node.port}`);
      }
      assert.equal(await onNode(node, "EXISTS", "scripted"), 1);
    }
  } finally {
    await cluster.destroy();
  }
});

async function onNodeAdmin(node: NodeProcess, ...args: string[]) {
  const client = await node.client();
  try {
    return await client.call(...args);
  } finally {
    client.close();
  }
}

Deno.test("an idle leader asks its child about deadlines once per clock tick, not per Raft tick", async () => {
  const cluster = await TestCluster.start(1, ["--child-clock-tick-ms", "200"]);
  try {
    const client = await (await cluster.leader()).client();
    try {
      assert.equal(await client.call("SET", "plain", "no deadline"), "OK");
      // No line until the child ran INFO once (an INFO counts itself only after it ran).
      const infoCalls = async () =>
        Number(
          /cmdstat_info:calls=(\d+)/.exec(String(await client.call("INFO", "commandstats")))?.[1] ??
            0,
        );
      const before = await infoCalls();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const calls = await infoCalls() - before;
      // About 10 at one per 200 ms tick (and this test's own INFO); one per 20 ms Raft tick is 100.
      assert.ok(calls >= 3 && calls <= 20, `${calls} INFO calls in 2 s`);
    } finally {
      client.close();
    }
  } finally {
    await cluster.destroy();
  }
});
