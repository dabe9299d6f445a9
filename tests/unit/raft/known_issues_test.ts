/**
 * Behaviour of the core found questionable while writing the scenario transcripts.
 * Each test states the behaviour we want and fails today; it is `ignore`d so the suite
 * stays green. Run them with `KNOWN_ISSUES=1 deno test -A tests/unit/raft` after a fix
 * and drop the `ignore`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TestCluster } from "./cluster_harness.ts";

const data = (s: string) => new TextEncoder().encode(s);

Deno.test({
  name:
    "known issue: a follower whose appends were lost catches up on the next heartbeat round, not after electionTicks/2",
  // Today: the leader keeps the follower in replicate state with next past the lost
  // entries; heartbeat responses carry no index, and sendAppend has nothing "new" to
  // send, so the entries are resent only when ticksSinceAck reaches electionTicks/2 and
  // the follower drops to probe. An idle cluster thus leaves a healed follower (and a
  // leadership transfer to it) waiting 5 extra heartbeat rounds. No safety impact.
  ignore: Deno.env.get("KNOWN_ISSUES") !== "1",
  fn() {
    const cluster = TestCluster.formed(3);
    const n1 = cluster.node(1);
    cluster.isolate(3);
    n1.propose(data("a"));
    n1.propose(data("b"));
    cluster.settle();
    const last = n1.status().lastIndex;
    assert.equal(n1.status().commitIndex, last);
    cluster.heal();
    cluster.tick(2); // two heartbeat rounds, both answered by node 3
    assert.equal(cluster.node(3).status().lastIndex, last, "node 3 still lacks the entries");
  },
});
