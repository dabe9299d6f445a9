/**
 * Integration: one slow disk does not slow the cluster. A follower whose disk is throttled to a
 * few writes a second costs nothing (the leader and the other follower make the quorum) and
 * keeps answering; a leader whose disk is throttled so hands leadership to a follower that
 * persisted its entries first, after which writes go at their usual pace again; a leader whose
 * sync outlasts an election timeout (a disk that all but hangs) stops its heartbeats and the
 * others elect a leader. Every acknowledged write is kept. The throttle is the kernel's (cgroup
 * v1 blkio): the tests need root and that hierarchy.
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { type NodeProcess, waitFor } from "../helpers/node_process.ts";
import { SlowDisk, slowDiskAvailable } from "../helpers/slow_disk.ts";

/** Disk writes a second for a slow follower: a sync (two or three writes) takes ~0.5 s. */
const slowFollowerWriteIops = 5;
/** For a slow leader: syncs of ~0.25 s, slow but shorter than the election timeout (0.5 s). */
const slowLeaderWriteIops = 10;
/** For a disk that all but hangs: syncs of 2 s and more, four election timeouts. */
const hungWriteIops = 1;
/** A pace no throttled leader reaches: with a sync per write, this many take 10 s and more. */
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
    const cluster = await TestCluster.start(3); // the default --log-sync-slow-ms (100)
    const slowDisk = SlowDisk.create(cluster.nodes[0].dir, slowFollowerWriteIops);
    const slowerDisk = SlowDisk.create(cluster.nodes[0].dir, slowLeaderWriteIops);
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

      slowerDisk.slow(leader.process!.pid);
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
      assert.match(
        await leader.log(),
        /log syncs took over 100 ms .* in a row .*handing leadership over/,
      );
      const afterMs = await writeMany(newLeader, "after", paceWrites);
      assert.ok(afterMs < paceWithinMs, `${paceWrites} writes took ${afterMs} ms after`);
      assert.equal(await cluster.leader(), newLeader, "leadership stays with the faster disk");

      slowerDisk.restore(leader.process!.pid);
      await cluster.waitConverged();
      for (const [prefix, count] of [["follower-slow", paceWrites], ["leader-slow", written]]) {
        for (let i = 0; i < Number(count); i++) {
          assert.equal(await cluster.call(["GET", `${prefix}:${i}`]), String(i));
        }
      }
    } finally {
      slowDisk.remove();
      slowerDisk.remove();
      await cluster.destroy();
    }
  },
});

Deno.test({
  name: "a leader whose disk all but hangs stops its heartbeats; the others elect a leader",
  ignore: !slowDiskAvailable(),
  fn: async () => {
    // No hand-off: leadership can only move by an election, which needs the heartbeats to stop.
    const cluster = await TestCluster.start(3, ["--log-sync-slow-ms", "0"]);
    const hungDisk = SlowDisk.create(cluster.nodes[0].dir, hungWriteIops);
    try {
      const leader = await cluster.leader();
      hungDisk.slow(leader.process!.pid);
      const client = await leader.client();
      // Its one sync now takes seconds; a write waits on it (answered once it ends, or redirected).
      const stuckWrite = client.call("SET", "hung", "1").finally(() => client.close());
      const others = cluster.nodes.filter((node) => node !== leader);
      const newLeader = await cluster.leader(6_000, others);
      const afterMs = await writeMany(newLeader, "hung-after", paceWrites);
      assert.ok(afterMs < paceWithinMs, `${paceWrites} writes took ${afterMs} ms after`);
      hungDisk.restore(leader.process!.pid);
      const reply = await stuckWrite;
      await cluster.waitConverged();
      if (reply === "OK") assert.equal(await cluster.call(["GET", "hung"]), "1");
      for (let i = 0; i < paceWrites; i++) {
        assert.equal(await cluster.call(["GET", `hung-after:${i}`]), String(i));
      }
    } finally {
      hungDisk.remove();
      await cluster.destroy();
    }
  },
});
