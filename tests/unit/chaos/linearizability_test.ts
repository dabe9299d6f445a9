import assert from "node:assert/strict";
import { checkLinearizability, checkRegisterKey } from "../../chaos/checker/linearizability.ts";
import type { Operation } from "../../chaos/history.ts";
import { HistoryBuilder } from "./history_builder.ts";

const far = () => performance.now() + 10_000;

Deno.test("linearizability accepts sequential writes and reads", () => {
  const h = new HistoryBuilder()
    .add("read", "k", null, null, 0, 1)
    .add("write", "k", "a", "OK", 2, 3)
    .add("read", "k", null, "a", 4, 5)
    .add("cas", "k", ["a", "b"], true, 6, 7)
    .add("cas", "k", ["a", "c"], false, 8, 9)
    .add("read", "k", null, "b", 10, 11);
  assert.equal(checkLinearizability(h.ops).kind, "valid");
});

Deno.test("linearizability accepts a read concurrent with a write seeing either value", () => {
  for (const seen of ["a", "b"]) {
    const h = new HistoryBuilder()
      .add("write", "k", "a", "OK", 0, 1)
      .add("write", "k", "b", "OK", 2, 10)
      .add("read", "k", null, seen, 3, 4);
    assert.equal(checkLinearizability(h.ops).kind, "valid", seen);
  }
});

Deno.test("linearizability rejects a stale read and prints a small window", () => {
  const h = new HistoryBuilder();
  for (let i = 0; i < 50; i++) {
    h.add("read", "k", null, i === 0 ? null : `v${i - 1}`, 10 * i, 10 * i + 1);
  }
  for (let i = 0; i < 50; i++) h.add("write", "k", `v${i}`, "OK", 10 * i + 2, 10 * i + 3);
  h.add("write", "k", "x", "OK", 1000, 1001).add("write", "k", "y", "OK", 1002, 1003)
    .add("read", "k", null, "x", 1004, 1005);
  const verdict = checkLinearizability(h.ops);
  assert.equal(verdict.kind, "invalid");
  const window = verdict.anomalies[0].ops!;
  assert.ok(window.length <= 53, `window of ${window.length}`);
  assert.match(window[window.length - 1], /read k null → "x"/);
  assert.ok(
    !window.some((line) => /read k null → "v/.test(line)),
    "reads unrelated to the anomaly dropped",
  );
});

Deno.test("linearizability rejects a lost write (read of an older value after an acked write)", () => {
  const h = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("write", "k", "b", "OK", 2, 3)
    .add("read", "k", null, "a", 100, 101);
  assert.equal(checkLinearizability(h.ops).kind, "invalid");
});

Deno.test("linearizability rejects a failed write that becomes visible", () => {
  const h = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("write", "k", "b", undefined, 2, 3, "fail")
    .add("read", "k", null, "b", 10, 11);
  assert.equal(checkLinearizability(h.ops).kind, "invalid");
});

Deno.test("linearizability accepts an indeterminate write that took effect later, or never", () => {
  const took = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("write", "k", "b", undefined, 2, 3, "info")
    .add("read", "k", null, "a", 10, 11)
    .add("read", "k", null, "b", 20, 21);
  assert.equal(checkLinearizability(took.ops).kind, "valid");
  const never = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("write", "k", "b", undefined, 2, 3, "info")
    .add("read", "k", null, "a", 10, 11);
  assert.equal(checkLinearizability(never.ops).kind, "valid");
});

Deno.test("linearizability rejects a value flipping back (a then b then a)", () => {
  const h = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("write", "k", "b", undefined, 2, 50, "info")
    .add("read", "k", null, "b", 10, 11)
    .add("read", "k", null, "a", 20, 21);
  assert.equal(checkLinearizability(h.ops).kind, "invalid");
});

Deno.test("linearizability rejects a cas that succeeded on the wrong value", () => {
  const h = new HistoryBuilder()
    .add("write", "k", "a", "OK", 0, 1)
    .add("cas", "k", ["z", "b"], true, 2, 3);
  assert.equal(checkLinearizability(h.ops).kind, "invalid");
});

Deno.test("linearizability checks keys independently", () => {
  const h = new HistoryBuilder()
    .add("write", "k1", "a", "OK", 0, 1)
    .add("write", "k2", "b", "OK", 0, 1)
    .add("read", "k1", null, "a", 2, 3)
    .add("read", "k2", null, "a", 2, 3);
  const verdict = checkLinearizability(h.ops);
  assert.equal(verdict.kind, "invalid");
  assert.deepEqual(verdict.anomalies.map((a) => a.key), ["k2"]);
});

Deno.test("linearizability answers unknown when the budget is exhausted", () => {
  const ops: Operation[] = new HistoryBuilder().ops;
  const h = new HistoryBuilder();
  for (let i = 0; i < 200; i++) h.add("write", "k", `v${i}`, undefined, i, Infinity, "info");
  for (let i = 0; i < 200; i++) h.add("read", "k", null, `v${199 - i}`, 300 + i, 300 + i + 0.5);
  ops.push(...h.ops);
  assert.equal(checkRegisterKey(ops, performance.now() - 1), "unknown");
});

Deno.test("linearizability handles many concurrent indeterminate writes quickly", () => {
  const h = new HistoryBuilder();
  for (let i = 0; i < 300; i++) h.add("write", "k", `v${i}`, undefined, i, Infinity, "info");
  h.add("read", "k", null, "v7", 1000, 1001).add("read", "k", null, "v3", 1002, 1003);
  assert.equal(checkRegisterKey(h.ops, far()), "valid");
});
