import assert from "node:assert/strict";
import { checkCounter } from "../../chaos/checker/counter.ts";
import { HistoryBuilder } from "./history_builder.ts";

function kinds(h: HistoryBuilder): string[] {
  return [...new Set(checkCounter(h.ops).anomalies.map((a) => a.kind))].sort();
}

Deno.test("counter accepts acknowledged and indeterminate increments within bounds", () => {
  const h = new HistoryBuilder()
    .add("incr", "c", null, 1, 0, 1)
    .add("incr", "c", null, 3, 2, 5)
    .add("incr", "c", null, undefined, 2, 3, "info")
    .add("incr", "c", null, undefined, 2, 3, "fail")
    .add("read", "c", null, 1, 1.5, 2.5)
    .add("read", "c", "final", 3, 10, 11);
  assert.deepEqual(kinds(h), []);
});

Deno.test("counter rejects a lost increment", () => {
  const h = new HistoryBuilder()
    .add("incr", "c", null, 1, 0, 1)
    .add("incr", "c", null, 2, 2, 3)
    .add("read", "c", "final", 1, 10, 11);
  assert.ok(kinds(h).includes("lost-increment"));
});

Deno.test("counter rejects a final value above every possible increment", () => {
  const h = new HistoryBuilder()
    .add("incr", "c", null, 1, 0, 1)
    .add("incr", "c", null, undefined, 2, 3, "fail")
    .add("read", "c", "final", 2, 10, 11);
  assert.deepEqual(kinds(h), ["counter-out-of-bounds"]);
});

Deno.test("counter rejects duplicate INCR results and stale reads", () => {
  const h = new HistoryBuilder()
    .add("incr", "c", null, 1, 0, 1)
    .add("incr", "c", null, 1, 2, 3)
    .add("read", "c", null, 0, 4, 5);
  assert.deepEqual(kinds(h), ["counter-went-backwards", "duplicate-incr-result", "stale-read"]);
});
