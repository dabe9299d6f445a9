import assert from "node:assert/strict";
import { TickClock } from "../../../src/node/tick_clock.ts";
import { TestCluster } from "../raft/cluster_harness.ts";

Deno.test("the tick clock hands out the intervals that really passed, capped", () => {
  const clock = new TickClock(10, 25, 1000);
  assert.equal(clock.take(1009), 0);
  assert.equal(clock.take(1010), 1);
  assert.equal(clock.take(1035), 2, "the 5 ms left over count toward the next tick");
  assert.equal(clock.take(1040), 1);
  assert.equal(clock.take(61_040), 25, "a minute-long pause: capped");
  assert.equal(clock.take(61_049), 0, "the whole pause was consumed");
});

Deno.test("a leader paused past its lease serves no lease read once the clock catches up", () => {
  const electionTicks = 10;
  const cluster = TestCluster.formed(3, { electionTicks, leaseReads: true });
  const leader = cluster.node(1);
  cluster.tick(2); // a heartbeat round renews the lease
  leader.readIndex(1);
  cluster.flushReadies();
  assert.deepEqual(cluster.readStates.get(1)!.map((r) => r.requestId), [1], "lease read served");

  // Paused: the others elect a new leader meanwhile; this node hears nothing of it.
  cluster.isolate(1);
  const clock = new TickClock(20, 2 * electionTicks, 0);
  for (let i = 0, ticks = clock.take(20 * 40); i < ticks; i++) leader.tick();
  leader.readIndex(2);
  cluster.flushReadies();
  assert.deepEqual(
    cluster.readStates.get(1)!.map((r) => r.requestId),
    [1],
    "no read answered from an expired lease",
  );
});
