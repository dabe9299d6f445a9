import assert from "node:assert/strict";
import { SnapshotTrigger } from "../../../src/node/snapshot_trigger.ts";

/** Draws from a fixed list, in order. */
function draws(...values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length];
}

Deno.test("a snapshot is due past a point drawn between (1 - spread) and all of the limit", () => {
  const trigger = new SnapshotTrigger(draws(0.5, 0, 0.999));
  assert.equal(trigger.thresholdBytes(100_000, 20), 90_000);
  assert.equal(trigger.due(90_000, 100_000, 20), false);
  assert.equal(trigger.due(90_001, 100_000, 20), true);
  trigger.redraw();
  assert.equal(trigger.thresholdBytes(100_000, 20), 100_000, "a draw of 0 is the limit itself");
  assert.equal(trigger.due(99_999, 100_000, 20), false);
  trigger.redraw();
  assert.equal(trigger.thresholdBytes(100_000, 20), 80_020, "never below 1 - spread");
});

Deno.test("spread 0 is the limit on every draw; a limit of 0 is never due", () => {
  const trigger = new SnapshotTrigger(draws(0.9));
  assert.equal(trigger.thresholdBytes(64_000, 0), 64_000);
  assert.equal(trigger.due(64_000, 64_000, 0), false);
  assert.equal(trigger.due(64_001, 64_000, 0), true);
  assert.equal(trigger.due(Number.MAX_SAFE_INTEGER, 0, 25), false);
});

Deno.test("each snapshot draws its own point, so nodes on the same log part ways", () => {
  const trigger = new SnapshotTrigger();
  const points = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const point = trigger.thresholdBytes(1_000_000, 50);
    assert.ok(point >= 500_000 && point <= 1_000_000, `${point}`);
    points.add(point);
    trigger.redraw();
  }
  assert.ok(points.size > 40, `${points.size} distinct points in 50 draws`);
});
