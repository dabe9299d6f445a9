/** Unit: the log's clock (entry times never go back; reads run at a time entries in flight allow). */
import assert from "node:assert/strict";
import { EntryClock, snapshotEntryTimeMs } from "../../../src/node/entry_clock.ts";

/** A wall clock the test sets (it may step back, as NTP or `date -s` can). */
function steppedClock(startMs: number) {
  const clock = { nowMs: startMs, read: () => clock.nowMs };
  return clock;
}

Deno.test("entry times follow the wall clock and never go back when it steps back", () => {
  const wall = steppedClock(1_000);
  const clock = new EntryClock(wall.read);
  assert.equal(clock.next(), 1_000);
  wall.nowMs = 1_500;
  assert.equal(clock.next(), 1_500);
  wall.nowMs = 900; // stepped back
  assert.equal(clock.next(), 1_500);
  assert.equal(clock.idleMs(), -600);
  wall.nowMs = 1_600;
  assert.equal(clock.next(), 1_600);
  assert.equal(clock.idleMs(), 0);
});

Deno.test("an entry applied from another leader's later clock holds this leader's next times", () => {
  const wall = steppedClock(1_000);
  const clock = new EntryClock(wall.read);
  clock.applied(5_000);
  assert.equal(clock.appliedTimeMs, 5_000);
  assert.equal(clock.next(), 5_000);
  clock.applied(4_000); // an earlier time applied later moves the applied time, not entry times
  assert.equal(clock.appliedTimeMs, 4_000);
  assert.equal(clock.next(), 5_000);
});

Deno.test("reads run at the last applied time while entries are in flight, else now", () => {
  const wall = steppedClock(10_000);
  const clock = new EntryClock(wall.read);
  clock.applied(9_000);
  assert.equal(clock.readTimeMs(true), 9_000);
  assert.equal(clock.readTimeMs(false), 10_000);
  // A read at now holds the next entry's time at or after it.
  wall.nowMs = 9_500;
  assert.equal(clock.next(), 10_000);
});

Deno.test("a snapshot's time restores the applied time and holds entry times after it", () => {
  const wall = steppedClock(1_000);
  const clock = new EntryClock(wall.read);
  clock.restore(snapshotEntryTimeMs({ entryTimeMs: 7_000 }) ?? 0);
  assert.equal(clock.appliedTimeMs, 7_000);
  assert.equal(clock.next(), 7_000);
  assert.equal(snapshotEntryTimeMs({}), undefined);
  assert.equal(snapshotEntryTimeMs({ entryTimeMs: 0 }), undefined);
  assert.equal(snapshotEntryTimeMs({ entryTimeMs: "7000" }), undefined);
});
