/**
 * Crash safety of snapshots: a node killed (test-only crash points, which exit abruptly as
 * kill -9 would) at each step of taking or installing a snapshot restarts with nothing
 * acknowledged lost and converges with the others.
 */
import assert from "node:assert/strict";
import { waitFor } from "../helpers/node_process.ts";
import { type RespClient, RespError } from "../helpers/resp_client.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const tinyLog = ["--log-max-bytes", "8000", "--snapshot-min-entries", "1"];

/** INCR until the node dies (or `limit`); returns the last acknowledged value. */
async function incrUntilDeath(client: RespClient, limit: number): Promise<number> {
  let acked = 0;
  for (let i = 0; i < limit; i++) {
    let reply;
    try {
      reply = await client.call("INCR", "counter");
    } catch {
      return acked;
    }
    if (typeof reply === "number") acked = reply;
    else if (reply instanceof RespError && !/^(CLUSTERDOWN|TIMEOUT)/.test(reply.message)) {
      throw new Error(String(reply));
    }
  }
  return acked;
}

for (const point of ["snapshot-after-bgsave", "snapshot-after-publish", "snapshot-after-compact"]) {
  Deno.test(`a crash at ${point} loses nothing acknowledged`, async () => {
    const cluster = await TestCluster.start(1, [...tinyLog, "--crash-at", point]);
    try {
      const node = cluster.nodes[0];
      const client = await node.client();
      const acked = await incrUntilDeath(client, 5000);
      client.close();
      const status = await node.process!.status;
      assert.equal(status.code, 137, "the node died at the crash point");
      node.process = null;
      node.options.args = node.options.args!.filter((a) => a !== "--crash-at" && a !== point);
      await node.spawn();
      const value = Number(await cluster.call(["GET", "counter"], 20_000));
      assert.ok(value >= acked && value <= acked + 1, `counter ${value}, acknowledged ${acked}`);
      assert.equal(await cluster.call(["INCR", "counter"]), value + 1);
    } finally {
      await cluster.destroy();
    }
  });
}

for (
  const point of ["install-after-publish", "install-after-child-restart", "install-after-log-reset"]
) {
  Deno.test(`a follower crashing at ${point} recovers and converges`, async () => {
    const cluster = await TestCluster.start(3, tinyLog);
    try {
      const leader = await cluster.leader();
      const follower = cluster.nodes.find((n) => n !== leader)!;
      const followerLast = Number(infoField(await cluster.info(follower), "raft_current_index"));
      await follower.stop();
      const client = await leader.client();
      // Several pipelines: writes sent together share entries, and the log must grow past
      // --log-max-bytes in more than one entry to be compacted.
      for (let round = 0; round < 6; round++) {
        await client.pipeline(
          Array.from(
            { length: 100 },
            (_, i) => ["SET", `k${round * 100 + i}`, `v${round * 100 + i}`],
          ),
        );
      }
      await waitFor(async () => {
        const info = String(await client.call("INFO", "raft"));
        const first = Number(infoField(info, "raft_current_index")) -
          Number(infoField(info, "raft_log_entries")) + 1;
        return /raft_snapshots_created:[1-9]/.test(info) && first > followerLast + 1;
      }, "the leader to compact past the follower");
      client.close();
      const args = follower.options.args!;
      follower.options.args = [...args, "--crash-at", point];
      // It may serve for a moment before the snapshot arrives and it dies, or not at all.
      assert.equal(await follower.runUntilExit(), 137, "the follower died at the crash point");
      follower.options.args = args;
      await follower.spawn();
      await cluster.waitConverged(30_000);
      const f = await follower.client();
      assert.equal(await f.call("RAFT.DEBUG", "EXEC", "GET", "k599"), "v599");
      f.close();
    } finally {
      await cluster.destroy();
    }
  });
}
