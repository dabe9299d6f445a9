import assert from "node:assert/strict";
import { checkReplicaReads } from "../../chaos/checker/replica_reads.ts";
import { HistoryBuilder } from "./history_builder.ts";

function kinds(h: HistoryBuilder): string[] {
  return [...new Set(checkReplicaReads(h.ops).anomalies.map((a) => a.kind))].sort();
}

/** Key `old` gets 1 and 2 (done by 3), then key `new` gets 3 (invoked at 10). */
function appends(): HistoryBuilder {
  return new HistoryBuilder()
    .add("append", "old", "1", ["1"], 0, 1)
    .add("append", "old", "2", ["1", "2"], 2, 3)
    .add("append", "new", "3", ["3"], 10, 11);
}

Deno.test("replica reads may lag and differ between nodes", () => {
  const h = appends()
    .add("read", "old", "stale@a:1", ["1"], 4, 5)
    .add("read", "new", "stale@b:1", [], 12, 13)
    .add("read", "old", "stale@b:1", [], 14, 15)
    .add("read", "new", "stale@a:1", ["3"], 16, 17)
    .add("read", "old", "stale@a:1", ["1", "2"], 18, 19);
  assert.deepEqual(kinds(h), []);
});

Deno.test("replica reads: a node that showed a later append must still show earlier keys", () => {
  // a showed 3, so it had applied 1 and 2 (acknowledged before 3 was invoked); a restarted a
  // answering `old` without 2 went back.
  const h = appends()
    .add("read", "new", "stale@a:1", ["3"], 12, 13)
    .add("read", "old", "stale@a:1", ["1"], 20, 21);
  assert.deepEqual(kinds(h), ["node-went-back"]);
});

Deno.test("replica reads: reads that overlap in time or hit other nodes are not ordered", () => {
  const h = appends()
    .add("read", "new", "stale@a:1", ["3"], 12, 20)
    .add("read", "old", "stale@a:1", ["1"], 19, 21)
    .add("read", "old", "stale@b:1", [], 30, 31);
  assert.deepEqual(kinds(h), []);
});

Deno.test("replica reads: appends concurrent with the shown one are not required", () => {
  // 4 completed after 3 was invoked: a may have applied 3 before 4.
  const h = appends()
    .add("append", "old", "4", ["1", "2", "4"], 9, 12)
    .add("read", "new", "stale@a:1", ["3"], 13, 14)
    .add("read", "old", "stale@a:1", ["1", "2"], 15, 16);
  assert.deepEqual(kinds(h), []);
});
