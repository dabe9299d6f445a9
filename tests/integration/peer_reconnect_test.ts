/**
 * Integration: a follower restarted after a while down hears from the leader at once, without
 * campaigning, although the leader's reconnect backoff to it grew meanwhile: it opens its links
 * as soon as it knows the membership, and the leader's link to it retries on its RAFT.HELLO.
 */
import assert from "node:assert/strict";
import { waitFor } from "../helpers/node_process.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const timers = [
  "--election-timeout-ms",
  "1000",
  "--heartbeat-interval-ms",
  "100",
  "--tick-interval-ms",
  "10",
  // A long backoff ceiling: a leader left to its backoff reaches a restarted node seconds late.
  "--peer-reconnect-min-ms",
  "100",
  "--peer-reconnect-max-ms",
  "10000",
];

Deno.test("a restarted follower hears from the leader before its election timeout, without campaigning", async () => {
  const cluster = await TestCluster.start(3, [], timers);
  try {
    const leader = await cluster.leader();
    const leaderInfo = await cluster.info(leader);
    const leaderId = infoField(leaderInfo, "raft_node_id");
    const term = infoField(leaderInfo, "raft_current_term");
    const follower = cluster.nodes.find((node) => node !== leader)!;
    await follower.crash();
    // The leader's attempts to reach it back off: 100, 200, 400, ... 3200 ms (jittered).
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const logBefore = (await follower.log()).length;
    await follower.spawn();
    await waitFor(
      async () => {
        const info = await cluster.info(follower);
        return infoField(info, "raft_leader_id") === leaderId ? true : undefined;
      },
      "the restarted follower to know the leader",
      10_000,
    );
    const restartLog = (await follower.log()).slice(logBefore);
    assert.doesNotMatch(restartLog, /role (pre-candidate|candidate)/, restartLog);
    assert.equal(infoField(await cluster.info(leader), "raft_current_term"), term);
  } finally {
    await cluster.destroy();
  }
});
