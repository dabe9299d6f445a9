import assert from "node:assert/strict";
import { checkStream, idOrder, type StreamFinal } from "../../chaos/checker/stream.ts";
import { HistoryBuilder } from "./history_builder.ts";

function kinds(h: HistoryBuilder): string[] {
  return [...new Set(checkStream(h.ops).anomalies.map((a) => a.kind))].sort();
}

const final = (
  entries: [string, string][],
  pending: string[],
  lastDelivered: string,
): StreamFinal => ({ entries, pending, lastDelivered });

/** Three adds, two delivered and one of them acknowledged, the third never read. */
function healthy(): HistoryBuilder {
  return new HistoryBuilder()
    .add("add", "s", "a", "1-0", 0, 1)
    .add("add", "s", "b", "2-0", 2, 3)
    .add("deliver", "s", 5, [["1-0", "a"], ["2-0", "b"]], 4, 5)
    .add("ack", "s", ["1-0"], 1, 6, 7)
    .add("add", "s", "c", "3-0", 8, 9);
}

Deno.test("stream ids order like their parts, sequence numbers included", () => {
  assert.ok(idOrder("2-0") > idOrder("1-99"));
  assert.ok(idOrder("10-0") > idOrder("9-0"));
  assert.ok(idOrder("5-10") > idOrder("5-9"));
});

Deno.test("stream accepts deliveries in order, acks, claims and what is still pending", () => {
  const missed = healthy()
    .add("claim", "s", 2, [["2-0", "b"]], 10, 11)
    .add("deliver", "s", 1, [], 10, 11)
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0"], "2-0"),
      20,
      21,
    );
  // The empty read began after 3-0 was acknowledged, and the group never delivered 3-0.
  assert.deepEqual(kinds(missed), ["missed-entry"]);
  const fine = healthy()
    .add("claim", "s", 2, [["2-0", "b"]], 10, 11)
    .add("deliver", "s", 1, [], 4.5, 8.5)
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0"], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(fine), []);
});

Deno.test("stream accepts indeterminate adds, reads and acks of either outcome", () => {
  const h = healthy()
    .add("add", "s", "d", undefined, 10, 11, "info")
    .add("add", "s", "e", undefined, 10, 11, "info")
    // An indeterminate read may have taken 3-0 and 4-0; nobody saw them, they stay pending.
    .add("deliver", "s", 2, undefined, 12, 13, "info")
    .add("ack", "s", ["2-0"], undefined, 14, 15, "info")
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"], ["4-0", "d"]], [
        "3-0",
        "4-0",
      ], "4-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(h), []);
});

Deno.test("stream rejects a lost add, a failed add that took effect and a stored duplicate", () => {
  const lost = healthy()
    .add("read", "s", "final", final([["1-0", "a"], ["2-0", "b"]], ["2-0"], "2-0"), 20, 21);
  assert.deepEqual(kinds(lost), ["lost-add"]);
  const failed = healthy()
    .add("add", "s", "d", undefined, 10, 11, "fail")
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"], ["4-0", "d"]], [
        "2-0",
      ], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(failed), ["unknown-entry"]);
  const twice = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"], ["4-0", "c"]], [
        "2-0",
      ], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(twice), ["duplicate-entry"]);
});

Deno.test("stream rejects an id not above one acknowledged before the add began", () => {
  const h = new HistoryBuilder()
    .add("add", "s", "a", "5-0", 0, 1)
    .add("add", "s", "b", "4-0", 2, 3);
  assert.deepEqual(kinds(h), ["id-order"]);
  const concurrent = new HistoryBuilder()
    .add("add", "s", "a", "5-0", 0, 3)
    .add("add", "s", "b", "4-0", 2, 4);
  assert.deepEqual(kinds(concurrent), []);
});

Deno.test("stream rejects an entry delivered as new twice, or out of order", () => {
  const twice = healthy().add("deliver", "s", 1, [["2-0", "b"]], 10, 11);
  assert.deepEqual(kinds(twice), ["delivery-order", "duplicate-delivery"]);
  const backwards = new HistoryBuilder()
    .add("add", "s", "a", "1-0", 0, 1)
    .add("add", "s", "b", "2-0", 0, 1)
    .add("deliver", "s", 1, [["2-0", "b"]], 2, 3)
    .add("deliver", "s", 1, [["1-0", "a"]], 4, 5);
  assert.deepEqual(kinds(backwards), ["delivery-order"]);
  const inOneReply = new HistoryBuilder()
    .add("add", "s", "a", "1-0", 0, 1)
    .add("add", "s", "b", "2-0", 0, 1)
    .add("deliver", "s", 2, [["2-0", "b"], ["1-0", "a"]], 2, 3);
  assert.deepEqual(kinds(inOneReply), ["delivery-order"]);
});

Deno.test("stream rejects deliveries of entries not stored, or before their add began", () => {
  const unknown = healthy()
    .add("deliver", "s", 1, [["3-0", "z"]], 10, 11)
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0", "3-0"], "3-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(unknown), ["unknown-delivery"]);
  const early = new HistoryBuilder()
    .add("deliver", "s", 1, [["1-0", "a"]], 0, 1)
    .add("add", "s", "a", "1-0", 2, 3);
  assert.deepEqual(kinds(early), ["delivered-before-added"]);
});

Deno.test("stream rejects a group position below a delivered entry", () => {
  const h = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], [], "1-0"),
      20,
      21,
    );
  assert.ok(kinds(h).includes("last-delivered-regressed"));
});

Deno.test("stream rejects a delivered, unacknowledged entry that is no longer pending", () => {
  const h = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], [], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(h), ["lost-pending"]);
  // The group moved past 3-0 with no read that could have taken it.
  const skipped = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0", "3-0"], "3-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(skipped), ["lost-delivery"]);
});

Deno.test("stream rejects pending ids never delivered, and acknowledged ids pending or claimed", () => {
  const never = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0", "3-0"], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(never), ["unknown-pending"]);
  const stillPending = healthy()
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["1-0", "2-0"], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(stillPending), ["ack-lost"]);
  const claimed = healthy()
    .add("claim", "s", 2, [["1-0", "a"]], 10, 11)
    .add(
      "read",
      "s",
      "final",
      final([["1-0", "a"], ["2-0", "b"], ["3-0", "c"]], ["2-0"], "2-0"),
      20,
      21,
    );
  assert.deepEqual(kinds(claimed), ["ack-lost"]);
});
