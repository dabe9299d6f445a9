import assert from "node:assert/strict";
import { NodeProcess } from "../helpers/node_process.ts";
import { fastTimers, TestCluster } from "../helpers/test_cluster.ts";
import { assertPausedLeaderNeverReadsStale } from "../helpers/paused_leader.ts";

Deno.test("--read-mode lease: a leader paused past its lease never answers a stale read", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "lease"]);
  try {
    await assertPausedLeaderNeverReadsStale(cluster, 4);
  } finally {
    await cluster.destroy();
  }
});

Deno.test("--read-mode lease: CONFIG SET raft.quorum-reads no, then yes, returns to lease reads", async () => {
  const args = [...fastTimers, "--read-mode", "lease", "--election-timeout-ms", "2000"];
  const nodes: NodeProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await NodeProcess.start({ args }));
    const cluster = new TestCluster(nodes);
    const first = await nodes[0].client();
    // Before INIT: the core that INIT opens must read with leases again.
    assert.equal(await first.call("CONFIG", "SET", "raft.quorum-reads", "no"), "OK");
    assert.equal(await first.call("CONFIG", "SET", "raft.quorum-reads", "yes"), "OK");
    assert.deepEqual(await first.call("CONFIG", "GET", "raft.quorum-reads"), [
      "raft.quorum-reads",
      "yes",
    ]);
    assert.match(String(await first.call("RAFT.CLUSTER", "INIT")), /^OK/);
    for (const node of nodes.slice(1)) await cluster.join(node, nodes[0]);
    await cluster.waitConverged();
    assert.equal(await cluster.leader(), nodes[0]);
    assert.equal(await first.call("SET", "k", "v"), "OK");
    for (const node of nodes.slice(1)) Deno.kill(node.process!.pid, "SIGSTOP");
    try {
      // Within the lease the leader answers alone; a ReadIndex round would have no quorum.
      assert.equal(await first.call("GET", "k"), "v");
    } finally {
      for (const node of nodes.slice(1)) Deno.kill(node.process!.pid, "SIGCONT");
    }
    first.close();
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
});
