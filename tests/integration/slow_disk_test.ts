/**
 * Integration: one slow disk does not slow the cluster. A follower whose disk is throttled to a
 * few writes a second costs nothing (the leader and the other follower make the quorum); a
 * leader whose disk is throttled so hands leadership to a follower that persisted its entries
 * first, after which writes go at their usual pace again. Every acknowledged write is kept.
 * The throttle is the kernel's (cgroup v1 blkio): the test needs root and that hierarchy.
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { type NodeProcess, waitFor } from "../helpers/node_process.ts";
import { SlowDisk, slowDiskAvailable } from "../helpers/slow_disk.ts";

/** Writes a second the throttled disk allows: a sync (two or three writes) takes ~0.5 s. */
const slowWriteIops = 5;
/** A pace no throttled leader reaches: with a sync per write, this many take ~20 s there. */
const paceWrites = 40;
const paceWithinMs = 4_000;

/** Writes `count` keys one after another through `node`'s connection; the time it took. */
async function writeMany(node: NodeProcess, prefix: string, count: number): Promise<number> {
  const client = await node.client();
  try {
    const startedMs = performance.now();
    for (let i = 0; i < count; i++) {
      assert.equal(await client.call("SET", `${prefix}:${i}`, String(i)), "OK");
    }
    return performance.now() - startedMs;
  } finally {
    client.close();
  }
}

/** Slower than any answer of a node not blocked on its disk; faster than one sync there. */
const slowAnswerMs = 150;

/** The longest PING round trip to `node` while `work` runs. */
async function longestAnswerWhile(node: NodeProcess, work: Promise<unknown>): Promise<number> {
  const client = await node.client();
  let done = false;
  work.finally(() => done = true);
  let longestMs = 0;
  try {
    for (let i = 0; i < 1_000 && !done; i++) {
      const startedMs = performance.now();
      assert.equal(await client.call("PING"), "PONG");
      longestMs = Math.max(longestMs, performance.now() - startedMs);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await work;
    return longestMs;
  } finally {
    client.close();
  }
}

Deno.test({
  name: "a slow disk on a follower costs nothing; on the leader it hands leadership over",
  ignore: !slowDiskAvailable(),
  fn: async () => {
    const cluster = await TestCluster.start(3); // the default --log-sync-slow-ms (50)
    const slowDisk = SlowDisk.create(cluster.nodes[0].dir, slowWriteIops);
    try {
      const leader = await cluster.leader();
      const term = infoField(await cluster.info(leader), "raft_current_term");
      const follower = cluster.nodes.find((node) => node !== leader)!;

      slowDisk.slow(follower.process!.pid);
      const followerSlowMs = await writeMany(leader, "follower-slow", paceWrites);
      assert.ok(followerSlowMs < paceWithinMs, `${paceWrites} writes took ${followerSlowMs} ms`);
      assert.equal(await cluster.leader(), leader, "a slow follower takes no leadership");
      assert.equal(infoField(await cluster.info(leader), "raft_current_term"), term);
      // Its syncs run off its event loop once one was slow (the first, which it has made by the
      // time it answers INFO): it keeps answering while later ones wait on its disk.
      await cluster.info(follower);
      const answerMs = await longestAnswerWhile(follower, writeMany(leader, "pinged", 10));
      assert.ok(answerMs < slowAnswerMs, `the slow follower took ${answerMs} ms to answer`);
      slowDisk.restore(follower.process!.pid);

      slowDisk.slow(leader.process!.pid);
      // Writes through whoever leads: the slow leader's syncs hand leadership over on their own.
      let written = 0;
      const newLeader = await waitFor(
        async () => {
          assert.equal(
            await cluster.call(["SET", `leader-slow:${written}`, String(written)]),
            "OK",
          );
          written++;
          const now = await cluster.leader();
          return now !== leader ? now : undefined;
        },
        "leadership to leave the node with the slow disk",
        20_000,
      );
      assert.notEqual(newLeader, leader);
      assert.match(await leader.log(), /log syncs took over 50 ms .*handing leadership over/);
      const afterMs = await writeMany(newLeader, "after", paceWrites);
      assert.ok(afterMs < paceWithinMs, `${paceWrites} writes took ${afterMs} ms after`);
      assert.equal(await cluster.leader(), newLeader, "leadership stays with the faster disk");

      slowDisk.restore(leader.process!.pid);
      await cluster.waitConverged();
      for (const [prefix, count] of [["follower-slow", paceWrites], ["leader-slow", written]]) {
        for (let i = 0; i < Number(count); i++) {
          assert.equal(await cluster.call(["GET", `${prefix}:${i}`]), String(i));
        }
      }
    } finally {
      slowDisk.remove();
      await cluster.destroy();
    }
  },
});
