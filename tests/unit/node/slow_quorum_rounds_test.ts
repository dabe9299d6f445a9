/**
 * Unit: when a leader whose heartbeat rounds come back late hands leadership over
 * (SlowQuorumRounds).
 */
import assert from "node:assert/strict";
import {
  slowLinkTransferRetryElectionTimeouts,
  SlowQuorumRounds,
  slowRoundsBeforeHandOffCount,
} from "../../../src/node/slow_quorum_rounds.ts";

const config = { linkSlowMs: 200, heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };
/** Older than a heartbeat interval plus --link-slow-ms. */
const lateMs = 301;

Deno.test("hands over once the answered round stays too old for three heartbeat intervals", () => {
  assert.equal(slowRoundsBeforeHandOffCount, 3);
  const watch = new SlowQuorumRounds(config);
  assert.equal(watch.check(lateMs, 1_000, true), null);
  assert.equal(watch.check(500, 1_200, true), null);
  assert.equal(watch.check(600, 1_299, true), null);
  const reason = watch.check(700, 1_300, true);
  assert.match(
    String(reason),
    /older than 300 ms for 300 ms on end \(now 700 ms\): this node's link is slow, lossy or cut/,
  );
});

Deno.test("a round answered in time starts the wait again; a healthy age never hands over", () => {
  const watch = new SlowQuorumRounds(config);
  watch.check(lateMs, 0, true);
  watch.check(lateMs, 250, true);
  assert.equal(watch.check(300, 260, true), null, "a heartbeat interval plus 200 ms is in time");
  assert.equal(watch.check(lateMs, 270, true), null);
  assert.equal(watch.check(lateMs, 569, true), null);
  assert.notEqual(watch.check(lateMs, 570, true), null);
  const healthy = new SlowQuorumRounds(config);
  for (let nowMs = 0; nowMs < 10_000; nowMs += 20) {
    assert.equal(healthy.check(nowMs % 100, nowMs, true), null);
  }
});

Deno.test("no round answered at all this term counts as late", () => {
  const watch = new SlowQuorumRounds(config);
  watch.check(Infinity, 0, true);
  assert.match(String(watch.check(Infinity, 300, true)), /\(now none answered\)/);
});

Deno.test("only a leader hands over; at most once per two election timeouts; 0 turns it off", () => {
  const follower = new SlowQuorumRounds(config);
  for (let nowMs = 0; nowMs < 2_000; nowMs += 20) {
    assert.equal(follower.check(Infinity, nowMs, false), null);
  }
  const watch = new SlowQuorumRounds(config);
  watch.check(lateMs, 0, true);
  assert.notEqual(watch.check(lateMs, 300, true), null);
  for (let nowMs = 320; nowMs < 2_300; nowMs += 20) {
    assert.equal(watch.check(lateMs, nowMs, true), null, `at ${nowMs} ms`);
  }
  assert.notEqual(watch.check(lateMs, 2_300, true), null);
  const off = new SlowQuorumRounds({ ...config, linkSlowMs: 0 });
  for (let nowMs = 0; nowMs < 2_000; nowMs += 20) {
    assert.equal(off.check(Infinity, nowMs, true), null);
  }
});

Deno.test("exit: a transfer to a voter holding what is committed, else stepping down", () => {
  const watch = new SlowQuorumRounds(config);
  assert.deepEqual(watch.exit(0, 0), {
    kind: "step-down",
    why: "no other node holds what is committed",
  });
  assert.deepEqual(watch.exit(7, 1_000), { kind: "transfer", targetId: 7 });
});

Deno.test("exit: a second hand-off soon after a transfer steps down (the transfer did not move leadership)", () => {
  assert.equal(slowLinkTransferRetryElectionTimeouts, 4);
  const watch = new SlowQuorumRounds(config);
  assert.deepEqual(watch.exit(7, 1_000), { kind: "transfer", targetId: 7 });
  assert.deepEqual(watch.exit(7, 4_999), {
    kind: "step-down",
    why: "the last transfer did not move leadership",
  });
  assert.deepEqual(watch.exit(7, 5_000), { kind: "transfer", targetId: 7 }, "long after: again");
});
