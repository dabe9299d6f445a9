/**
 * Unit: when a leader's slow log syncs hand leadership over (SlowLogSync).
 */
import assert from "node:assert/strict";
import {
  slowDiskMemoryMs,
  SlowLogSync,
  slowSyncsBeforeHandOffCount,
} from "../../../src/node/slow_log_sync.ts";

const config = { logSyncSlowMs: 100, electionTimeoutMs: 1000 };

Deno.test("hands over after three slow syncs in a row, to a voter that had the entries", () => {
  assert.equal(slowSyncsBeforeHandOffCount, 3);
  const watch = new SlowLogSync(config);
  assert.equal(watch.record(150, 0, true, 7), null);
  assert.equal(watch.record(150, 200, true, 7), null);
  const reason = watch.record(320, 400, true, 7);
  assert.match(
    String(reason),
    /log syncs took over 100 ms 3 time\(s\) in a row \(the last 320 ms\).*node 7/,
  );
});

Deno.test("a fast sync between slow ones starts the count again", () => {
  const watch = new SlowLogSync(config);
  watch.record(150, 0, true, 7);
  watch.record(150, 1, true, 7);
  assert.equal(watch.record(20, 2, true, 7), null);
  assert.equal(watch.record(150, 3, true, 7), null);
  assert.equal(watch.record(150, 4, true, 7), null);
  assert.notEqual(watch.record(150, 5, true, 7), null);
});

Deno.test("no voter ahead (every disk slow): leadership stays, and the next ahead one gets it", () => {
  const watch = new SlowLogSync(config);
  for (let i = 0; i < 5; i++) assert.equal(watch.record(150, i, true, 0), null);
  assert.notEqual(watch.record(150, 6, true, 3), null);
});

Deno.test("at most one hand-off per two election timeouts; 0 turns it off; reset forgets", () => {
  const watch = new SlowLogSync(config);
  for (let i = 0; i < 2; i++) watch.record(150, 0, true, 7);
  assert.notEqual(watch.record(150, 0, true, 7), null);
  for (let i = 0; i < 3; i++) assert.equal(watch.record(150, 1_999, true, 7), null);
  assert.notEqual(watch.record(150, 2_000, true, 7), null);

  const off = new SlowLogSync({ ...config, logSyncSlowMs: 0 });
  for (let i = 0; i < 5; i++) assert.equal(off.record(10_000, i, true, 7), null);

  const reset = new SlowLogSync(config);
  reset.record(150, 0, true, 7);
  reset.record(150, 0, true, 7);
  reset.reset();
  assert.equal(reset.record(150, 0, true, 7), null);
});

Deno.test("a slow sync on any role marks the disk slow for a while; a follower's hands nothing over", () => {
  const watch = new SlowLogSync(config);
  assert.equal(watch.recentlySlow(0), false);
  for (let i = 0; i < 5; i++) assert.equal(watch.record(150, 1_000, false, 0), null);
  assert.equal(watch.recentlySlow(1_000 + slowDiskMemoryMs - 1), true);
  assert.equal(watch.record(2, 1_500, false, 0), null);
  assert.equal(watch.recentlySlow(1_600), true, "one fast sync proves little");
  assert.equal(watch.recentlySlow(1_000 + slowDiskMemoryMs), false);
});

Deno.test("slow syncs that take an election timeout together hand over sooner than three", () => {
  const watch = new SlowLogSync(config);
  assert.equal(watch.record(600, 0, true, 7), null);
  assert.match(String(watch.record(450, 600, true, 7)), /took over 100 ms 2 time\(s\) in a row/);
  assert.match(String(new SlowLogSync(config).record(1_200, 0, true, 7)), /1 time\(s\) in a row/);
});
