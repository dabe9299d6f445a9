/**
 * @module
 * A bridge on real processes: the leader's link to one follower is cut both ways while both
 * still reach the third node. The cut-off follower hears no leader for ten election timeouts and
 * asks for votes, but the third node, which hears the leader, refuses to help depose it (PreVote
 * and CheckQuorum): no term changes, every read and write through the leader succeeds, and once
 * the link heals the follower catches up. Reads come alone first: with no new entry, the cut-off
 * follower's log is as up to date as the third node's, so only that refusal keeps it from being
 * elected (without it, this test sees the term change).
 */
import assert from "node:assert/strict";
import { callOnce } from "./resp_connection.ts";
import { CutOffTrio, raftInfo } from "./cut_off_leader.ts";
import { waitFor } from "../helpers/node_process.ts";

const electionTimeoutMs = 500;
const bridgeHeldMs = 10 * electionTimeoutMs;

Deno.test({
  name: "a bridge costs no election and no failed request; the cut-off follower catches up",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    CutOffTrio.with("redisraft-bridge-", () => ({
      args: ["--election-timeout-ms", String(electionTimeoutMs), "--heartbeat-interval-ms", "50"],
    }), async (trio) => {
      const [leader, cutOff, bridge] = trio.nodes;
      assert.equal(await callOnce(leader.addr, ["INCR", "n"]), 1);
      const term = await raftInfo(leader.addr, "raft_current_term");
      await trio.cut(0, 1);
      const readsUntilMs = performance.now() + bridgeHeldMs / 2;
      let reads = 0;
      while (performance.now() < readsUntilMs && reads < 10_000) {
        assert.equal(await callOnce(leader.addr, ["GET", "n"]), "1");
        reads++;
      }
      let count = 1;
      const untilMs = performance.now() + bridgeHeldMs / 2;
      while (performance.now() < untilMs && count < 10_000) {
        assert.equal(await callOnce(leader.addr, ["INCR", "n"]), ++count);
        assert.equal(await callOnce(leader.addr, ["GET", "n"]), String(count));
      }
      assert.ok(reads >= 20 && count >= 20, `only ${reads} reads and ${count} increments`);
      for (const node of trio.nodes) {
        assert.equal(await raftInfo(node.addr, "raft_current_term"), term, node.addr);
      }
      assert.equal(await raftInfo(leader.addr, "raft_role"), "leader");
      assert.equal(await raftInfo(bridge.addr, "raft_role"), "follower");
      await trio.network.heal();
      await waitFor(
        async () => await raftInfo(cutOff.addr, "raft_role") === "follower",
        "the cut-off node to follow the leader again",
        10_000,
      );
      // Its own state, read locally: every increment acknowledged during the bridge is there.
      await waitFor(
        async () => {
          const reply = await callOnce(cutOff.addr, ["RAFT.DEBUG", "EXEC", "GET", "n"]);
          return reply === String(count);
        },
        "the cut-off node to catch up",
        10_000,
      );
      assert.equal(await raftInfo(leader.addr, "raft_current_term"), term);
    }),
});
