/**
 * Integration (chaos finding C8): a node removed from the cluster while it is taking a snapshot
 * (with a tiny --log-max-bytes it nearly always is) must leave cleanly and stay up, uninitialized.
 * leaveCluster() drops the core and the log under the take in flight; the take then failed
 * ("Cannot read properties of null (reading 'compact')", or NotFound on the archived snapshot
 * directory) and the node died with FATAL and exit code 1.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";

const tinyLog = ["--log-max-bytes", "32000", "--snapshot-min-entries", "1"];

Deno.test("followers removed while snapshotting under load leave cleanly (no FATAL, process stays up)", async () => {
  const cluster = await TestCluster.start(3, tinyLog);
  const extra: NodeProcess[] = [];
  try {
    // Two more members, so that two can be removed one after the other.
    for (let i = 0; i < 2; i++) {
      const node = await NodeProcess.start({ args: [...fastTimers, ...tinyLog] });
      extra.push(node);
      await cluster.join(node, await cluster.leader());
      cluster.nodes.push(node);
    }
    await cluster.waitConverged(30_000);
    let stop = false;
    const load = (async () => {
      const client = await (await cluster.leader()).client();
      try {
        for (let round = 0; !stop; round++) {
          const batch: string[][] = [];
          for (let i = 0; i < 200; i++) batch.push(["SET", `k${i}`, `r${round}`]);
          await client.pipeline(batch);
        }
      } catch { /* leader changed: fine, the test only needs snapshots going on */ }
      client.close();
    })();
    for (let removal = 0; removal < 2; removal++) {
      const leader = await cluster.leader();
      const follower = cluster.nodes.find((n) => n !== leader)!;
      await waitFor(async () => {
        const info = await cluster.info(follower);
        return Number(infoField(info, "raft_snapshots_created")) >= 2;
      }, "the follower to be snapshotting");
      const id = infoField(await cluster.info(follower), "raft_node_id")!;
      const admin = await leader.client();
      assert.equal(await admin.call("RAFT.NODE", "REMOVE", id), "OK");
      admin.close();
      cluster.nodes.splice(cluster.nodes.indexOf(follower), 1);
      if (!extra.includes(follower)) extra.push(follower);
      await waitFor(async () => {
        const c = await follower.client().catch(() => null);
        if (!c) return false;
        const info = await c.call("INFO", "raft").catch(() => "");
        c.close();
        return infoField(info, "raft_state") === "uninitialized";
      }, "the removed follower to come back uninitialized");
      await new Promise((r) => setTimeout(r, 500));
      const log = await follower.log();
      assert.ok(
        !/FATAL/.test(log),
        `the removed node died:\n${log.split("\n").slice(-20).join("\n")}`,
      );
      const exited = await Promise.race([
        follower.process!.status.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
      ]);
      assert.equal(exited, false, "the removed node must stay up (uninitialized)");
    }
    stop = true;
    await load;
  } finally {
    await cluster.destroy();
    await Promise.all(extra.filter((n) => !cluster.nodes.includes(n)).map((n) => n.destroy()));
  }
});

Deno.test({
  name: "a removed node joined again (same process) catches up by snapshot and converges",
  // Regression test for C9 (docs/chaos.md): the re-joined node kept the snapshot store of its
  // first membership, whose directory leaveCluster had moved to the archive.
  fn: async () => {
    const cluster = await TestCluster.start(3, tinyLog);
    const removed: NodeProcess[] = [];
    try {
      const leader = await cluster.leader();
      const follower = cluster.nodes.find((n) => n !== leader)!;
      const leaderClient = await leader.client();
      const writes = async (prefix: string) => {
        for (let round = 0; round < 10; round++) {
          const batch: string[][] = [];
          for (let i = 0; i < 300; i++) batch.push(["SET", `${prefix}${i}`, `r${round}`]);
          await leaderClient.pipeline(batch);
        }
      };
      await writes("a");
      await cluster.waitConverged(30_000);
      const id = infoField(await cluster.info(follower), "raft_node_id")!;
      assert.equal(await leaderClient.call("RAFT.NODE", "REMOVE", id), "OK");
      cluster.nodes.splice(cluster.nodes.indexOf(follower), 1);
      removed.push(follower);
      await waitFor(async () => {
        const info = await cluster.info(follower).catch(() => "");
        return infoField(info, "raft_state") === "uninitialized";
      }, "the removed follower to come back uninitialized");
      await writes("b");
      await cluster.join(follower, leader);
      cluster.nodes.push(follower);
      removed.pop();
      await writes("c");
      await cluster.waitConverged(30_000).catch(async (error) => {
        const tail = (await follower.log()).split("\n").filter((l) => !/snapshot taken/.test(l));
        throw new Error(`${error.message}; re-joined node's log:\n${tail.slice(-15).join("\n")}`);
      });
      leaderClient.close();
      const log = await follower.log();
      assert.ok(!/FATAL|snapshot chunk:/.test(log), log.split("\n").slice(-20).join("\n"));
    } finally {
      await cluster.destroy();
      await Promise.all(removed.map((n) => n.destroy()));
    }
  },
});
