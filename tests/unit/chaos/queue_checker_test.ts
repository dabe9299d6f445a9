import assert from "node:assert/strict";
import { checkQueue } from "../../chaos/checker/queue.ts";
import { HistoryBuilder } from "./history_builder.ts";

function kinds(h: HistoryBuilder): string[] {
  return [...new Set(checkQueue(h.ops).anomalies.map((a) => a.kind))].sort();
}

const took = (key: string, ...values: string[]) => ({ key, values });

Deno.test("queue accepts pops in push order, empty pops of empty keys and what is left", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", 2, 2, 3)
    .add("enqueue", "q", "3", 3, 4, 5)
    .add("enqueue", "p", "4", 1, 4, 5)
    .add("dequeue", "q", "BRPOP q 1", took("q", "1"), 6, 7)
    .add("dequeue", "q p", "BLMPOP 1 2 q p RIGHT COUNT 3", took("q", "2", "3"), 8, 9)
    .add("dequeue", "q", "RPOP q", null, 10, 11)
    .add("enqueue", "q", "5", 1, 12, 13)
    .add("enqueue", "q", "6", 2, 14, 15)
    .add("read", "q", "final", ["6", "5"], 20, 21)
    .add("read", "p", "final", ["4"], 20, 21);
  assert.deepEqual(kinds(h), []);
});

Deno.test("queue accepts indeterminate pushes and pops of either outcome", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", undefined, 2, 3, "info")
    .add("enqueue", "q", "3", undefined, 2, 3, "info")
    .add("enqueue", "q", "4", 2, 4, 5)
    // An indeterminate pop may have taken 1.
    .add("dequeue", "q", "BRPOP q 1", undefined, 6, 7, "info")
    .add("dequeue", "q", "BRPOP q 1", took("q", "2"), 8, 9)
    .add("dequeue", "q", "BRPOP q 1", undefined, 10, 11, "fail")
    .add("read", "q", "final", ["4"], 20, 21);
  assert.deepEqual(kinds(h), []);
});

Deno.test("queue rejects an acknowledged value nobody could have taken", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", 2, 2, 3)
    .add("dequeue", "q", "BRPOP q 1", undefined, 4, 5, "info")
    // A pop that was dropped (-UNBLOCKED) took nothing.
    .add("dequeue", "q", "BRPOP q 1", undefined, 4, 5, "fail")
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(h), ["lost-element"]);
});

Deno.test("queue rejects a value taken twice, or taken and still left", () => {
  const twice = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("dequeue", "q", "BRPOP q 1", took("q", "1"), 2, 3)
    .add("dequeue", "q", "RPOP q", took("q", "1"), 4, 5)
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(twice), ["duplicate-element"]);
  const stillLeft = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("dequeue", "q", "BRPOP q 1", took("q", "1"), 2, 3)
    .add("read", "q", "final", ["1"], 20, 21);
  assert.deepEqual(kinds(stillLeft), ["duplicate-element"]);
});

Deno.test("queue rejects values from failed pushes, other keys or nowhere", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", undefined, 0, 1, "fail")
    .add("enqueue", "p", "2", 1, 0, 1)
    .add("dequeue", "q", "RPOP q", took("q", "1"), 2, 3)
    .add("dequeue", "q", "RPOP q", took("q", "2"), 4, 5)
    .add("read", "q", "final", ["9"], 20, 21)
    .add("read", "p", "final", [], 20, 21);
  const verdict = checkQueue(h.ops);
  assert.deepEqual(kinds(h), ["lost-element", "unknown-element"]);
  assert.equal(verdict.anomalies.filter((a) => a.kind === "unknown-element").length, 3);
});

Deno.test("queue rejects a pop that completed before its value's push began", () => {
  const h = new HistoryBuilder()
    .add("dequeue", "q", "BRPOP q 1", took("q", "1"), 0, 1)
    .add("enqueue", "q", "1", undefined, 2, 3, "info")
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(h), ["dequeued-before-enqueued"]);
});

Deno.test("queue rejects a newer value taken before an older one", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", 2, 2, 3)
    .add("dequeue", "q", "RPOP q", took("q", "2"), 4, 5)
    .add("dequeue", "q", "RPOP q", took("q", "1"), 6, 7)
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(h), ["fifo-violation"]);
});

Deno.test("queue rejects one pop taking a newer value ahead of an older one", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", 2, 2, 3)
    .add("dequeue", "q", "BLMPOP 1 1 q RIGHT COUNT 2", took("q", "2", "1"), 4, 5)
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(h), ["fifo-violation"]);
});

Deno.test("queue rejects a newer value taken while an older one stays", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", undefined, 2, 3, "info")
    .add("dequeue", "q", "RPOP q", took("q", "2"), 4, 5)
    .add("read", "q", "final", ["1"], 20, 21);
  assert.deepEqual(kinds(h), ["fifo-violation"]);
});

Deno.test("queue rejects what is left out of push order", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("enqueue", "q", "2", 2, 2, 3)
    .add("read", "q", "final", ["1", "2"], 20, 21);
  assert.deepEqual(kinds(h), ["fifo-violation"]);
});

Deno.test("queue accepts concurrent pushes taken in either order", () => {
  const h = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 3)
    .add("enqueue", "q", "2", 2, 1, 2)
    .add("dequeue", "q", "RPOP q", took("q", "2"), 4, 5)
    .add("read", "q", "final", ["1"], 20, 21);
  assert.deepEqual(kinds(h), []);
});

Deno.test("queue rejects an empty pop while an acknowledged value sat in its key", () => {
  const stayed = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("dequeue", "p q", "BRPOP p q 0.5", null, 2, 3)
    .add("read", "q", "final", ["1"], 20, 21)
    .add("read", "p", "final", [], 20, 21);
  assert.deepEqual(kinds(stayed), ["missed-element"]);
  const takenLater = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("dequeue", "q", "RPOP q", null, 2, 3)
    .add("dequeue", "q", "RPOP q", took("q", "1"), 4, 5)
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(takenLater), ["missed-element"]);
  // Taken by a pop that overlapped the empty one: it may have gone first.
  const overlapping = new HistoryBuilder()
    .add("enqueue", "q", "1", 1, 0, 1)
    .add("dequeue", "q", "RPOP q", null, 2, 5)
    .add("dequeue", "q", "RPOP q", took("q", "1"), 3, 4)
    .add("read", "q", "final", [], 20, 21);
  assert.deepEqual(kinds(overlapping), []);
});
