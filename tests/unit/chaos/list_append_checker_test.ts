import assert from "node:assert/strict";
import { checkListAppend } from "../../chaos/checker/list_append.ts";
import { HistoryBuilder } from "./history_builder.ts";

function kinds(h: HistoryBuilder): string[] {
  return [...new Set(checkListAppend(h.ops).anomalies.map((a) => a.kind))].sort();
}

Deno.test("list-append accepts a correct history with concurrent and indeterminate appends", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 2)
    .add("append", "k", "2", ["1", "2"], 1, 4)
    .add("read", "k", null, ["1"], 1, 3)
    .add("append", "k", "3", undefined, 5, 6, "info")
    .add("append", "k", "4", undefined, 5, 6, "fail")
    .add("read", "k", null, ["1", "2"], 7, 8)
    .add("read", "k", "final", ["1", "2", "3"], 20, 21);
  assert.deepEqual(kinds(h), []);
});

Deno.test("list-append rejects a duplicated append", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 1)
    .add("read", "k", null, ["1", "1"], 2, 3);
  assert.deepEqual(kinds(h), ["duplicate-element"]);
});

Deno.test("list-append rejects reordered lists", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 5)
    .add("append", "k", "2", ["2"], 0, 5)
    .add("read", "k", null, ["1", "2"], 6, 7)
    .add("read", "k", null, ["2", "1"], 8, 9);
  assert.ok(kinds(h).includes("incompatible-order"));
});

Deno.test("list-append rejects a stale read of an acknowledged append", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 1)
    .add("append", "k", "2", ["1", "2"], 2, 3)
    .add("read", "k", null, ["1"], 4, 5);
  assert.deepEqual(kinds(h), ["read-went-backwards", "stale-read"]);
});

Deno.test("list-append rejects a lost acknowledged append", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 1)
    .add("append", "k", "2", ["1", "2"], 2, 3)
    .add("read", "k", "final", ["1"], 10, 11);
  assert.ok(kinds(h).includes("lost-append"));
});

Deno.test("list-append rejects an append that failed yet became visible", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", undefined, 0, 1, "fail")
    .add("read", "k", null, ["1"], 2, 3);
  assert.deepEqual(kinds(h), ["failed-append-visible"]);
});

Deno.test("list-append rejects values nobody appended and non-atomic appends", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1", "9"], 0, 1)
    .add("read", "k", null, ["1", "9"], 2, 3);
  assert.deepEqual(kinds(h), ["append-not-last", "phantom-element"]);
});

Deno.test("list-append rejects a read going backwards between two reads", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", undefined, 0, 1, "info")
    .add("read", "k", null, ["1"], 2, 3)
    .add("read", "k", null, [], 4, 5);
  assert.deepEqual(kinds(h), ["read-went-backwards"]);
});

Deno.test("list-append lets reads from a node's own state lag, each node at its own pace", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 1)
    .add("append", "k", "2", ["1", "2"], 2, 3)
    .add("read", "k", "stale@a:1", ["1"], 4, 5)
    .add("read", "k", "stale@b:1", [], 6, 7)
    .add("read", "k", "stale@a:1", ["1", "2"], 8, 9)
    .add("read", "k", "stale@b:1", ["1"], 10, 11)
    .add("read", "k", "final", ["1", "2"], 20, 21);
  assert.deepEqual(kinds(h), []);
});

Deno.test("list-append rejects a node answering from older state than it answered before", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 1)
    .add("read", "k", "stale@a:1", ["1"], 2, 3)
    .add("read", "k", "stale@b:1", [], 4, 5)
    .add("read", "k", "stale@a:1", [], 6, 7);
  assert.deepEqual(kinds(h), ["node-went-backwards"]);
});

Deno.test("list-append holds a current read to what a node's own state showed before it", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", undefined, 0, 1, "info")
    .add("read", "k", "stale@a:1", ["1"], 2, 3)
    .add("read", "k", null, [], 4, 5);
  assert.deepEqual(kinds(h), ["read-went-backwards"]);
});

Deno.test("list-append still rejects phantom and reordered values in a node's own reads", () => {
  const h = new HistoryBuilder()
    .add("append", "k", "1", ["1"], 0, 5)
    .add("append", "k", "2", ["1", "2"], 0, 5)
    .add("read", "k", "stale@a:1", ["2", "1"], 6, 7)
    .add("read", "k", "stale@b:1", ["1", "7"], 6, 7);
  assert.deepEqual(kinds(h), ["incompatible-order", "phantom-element"]);
});
