/**
 * @module
 * Checks a stream consumer-group history. Per key, `add` ops append a unique value with `XADD *`
 * (output: the id), `deliver` ops read new entries for one consumer with `XREADGROUP ... >`
 * (input: COUNT; output: the entries), `claim` ops take idle pending entries with `XAUTOCLAIM`
 * (input: COUNT; output: the entries), `ack` ops `XACK` ids (input: the ids), and a final `read`
 * gives the entries, the group's pending ids and its last-delivered id. Anomalies:
 * - `lost-add`, `unknown-entry`, `duplicate-entry`: an acknowledged add missing or at another
 *   id, an entry no add that could have run made, a value stored twice;
 * - `id-order`: an add given an id not above that of an add acknowledged before it began;
 * - `duplicate-delivery`: one entry delivered as new twice (the group's position went back);
 * - `unknown-delivery`, `delivered-before-added`: a delivered or claimed entry that is not in
 *   the stream with that value (or was never delivered), or delivered before its add began;
 * - `delivery-order`: a read that began after another completed got an entry not above all of
 *   that one's, or one reply out of order;
 * - `missed-entry`: a read got nothing while an acknowledged entry waited undelivered;
 * - `last-delivered-regressed`: the group's final position is below an entry delivered;
 * - `lost-pending`: an entry delivered (up to the final position) and never acknowledged that
 *   is not pending; `lost-delivery`: more such entries nobody saw than indeterminate reads
 *   could have taken; `unknown-pending`: a pending id that is no delivered entry;
 * - `ack-lost`: an id acknowledged by an acknowledged XACK still pending, or claimed later.
 * Every check is O(n log n) in the number of operations.
 */
import type { Operation } from "../history.ts";
import { countBelow, type Presence, presentThroughout } from "./realtime.ts";
import { Reporter } from "./reporter.ts";
import { type Verdict, verdictOf } from "./verdict.ts";

/** An entry as the workload records it: its id and its one field's value. */
export type StreamEntry = [id: string, value: string];

/** The final read of one key. */
export interface StreamFinal {
  entries: StreamEntry[];
  pending: string[];
  lastDelivered: string;
}

/** A stream id as one number that orders like the id (`ms-seq`). */
export function idOrder(id: string): bigint {
  const dash = id.indexOf("-");
  return (BigInt(id.slice(0, dash)) << 64n) | BigInt(id.slice(dash + 1));
}

export function checkStream(ops: Operation[]): Verdict {
  const reporter = new Reporter();
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const totals = { adds: 0, delivered: 0, acked: 0, pending: 0, claimed: 0, finals: 0 };
  for (const key of [...byKey.keys()].sort()) {
    checkKey(key, byKey.get(key)!, reporter, totals);
  }
  return verdictOf("stream", reporter.anomalies, { keys: byKey.size, ...totals });
}

interface Delivery {
  op: Operation;
  value: string;
}

function checkKey(
  key: string,
  ops: Operation[],
  reporter: Reporter,
  totals: Record<string, number>,
): void {
  const adds = ops.filter((op) => op.f === "add");
  const addOf = new Map(adds.map((op) => [String(op.input), op]));
  const deliveries = ops.filter((op) => op.f === "deliver" && op.status === "ok");
  const claims = ops.filter((op) => op.f === "claim" && op.status === "ok");
  const acks = ops.filter((op) => op.f === "ack" && op.status !== "fail");
  const finalOp = ops.find((op) => op.f === "read" && op.status === "ok");
  const final = finalOp?.output as StreamFinal | undefined;
  totals.adds += adds.filter((op) => op.status === "ok").length;
  totals.claimed += claims.reduce((n, op) => n + (op.output as StreamEntry[]).length, 0);
  totals.acked += acks.filter((op) => op.status === "ok")
    .reduce((n, op) => n + Number(op.output), 0);

  const valueAt = new Map<string, string>();
  if (final && finalOp) {
    totals.finals++;
    totals.pending += final.pending.length;
    checkEntries(key, final, finalOp, adds, addOf, valueAt, reporter);
  }
  checkIdOrder(key, adds, reporter);
  const delivered = checkDeliveries(key, deliveries, addOf, valueAt, final, reporter);
  totals.delivered += delivered.size;
  checkMissed(key, ops, adds, delivered, final, reporter);
  if (final && finalOp) {
    checkPending(key, { final, finalOp, delivered, claims, acks, ops }, reporter);
  }
}

/** The final entries are exactly the acknowledged adds, plus some indeterminate ones. */
function checkEntries(
  key: string,
  final: StreamFinal,
  finalOp: Operation,
  adds: Operation[],
  addOf: Map<string, Operation>,
  valueAt: Map<string, string>,
  reporter: Reporter,
): void {
  const idOf = new Map<string, string>();
  for (const [id, value] of final.entries) {
    valueAt.set(id, value);
    const add = addOf.get(value);
    if (!add || add.status === "fail") {
      const origin = add ? "a failed add" : "no add";
      reporter.report("unknown-entry", key, `${id} holds ${value}, from ${origin}`, [
        ...(add ? [add] : []),
        finalOp,
      ]);
    }
    if (idOf.has(value)) {
      reporter.report("duplicate-entry", key, `${value} is at ${idOf.get(value)} and ${id}`, [
        finalOp,
      ]);
    } else idOf.set(value, id);
  }
  for (const add of adds) {
    if (add.status !== "ok") continue;
    const at = idOf.get(String(add.input));
    if (at !== add.output) {
      const where = at === undefined ? "is not in the stream" : `is at ${at}`;
      reporter.report(
        "lost-add",
        key,
        `${add.input}, added as ${add.output}, ${where}`,
        [add, finalOp],
      );
    }
  }
}

/** An add begun after another was acknowledged gets a higher id; ids are never reused. */
function checkIdOrder(key: string, adds: Operation[], reporter: Reporter): void {
  const acked = adds.filter((op) => op.status === "ok")
    .map((op) => ({ op, order: idOrder(String(op.output)) }))
    .sort((a, b) => a.op.completeMs - b.op.completeMs);
  const seen = new Map<bigint, Operation>();
  for (const { op, order } of acked) {
    const other = seen.get(order);
    if (other) reporter.report("id-order", key, `two adds got ${op.output}`, [other, op]);
    seen.set(order, op);
  }
  // prefixMax[i]: the add with the highest id among acked[0..i].
  const prefixMax: (typeof acked)[number][] = [];
  for (const item of acked) {
    const last = prefixMax.at(-1);
    prefixMax.push(last && last.order > item.order ? last : item);
  }
  const completions = acked.map((a) => a.op.completeMs);
  for (const { op, order } of acked) {
    const before = countBelow(completions, op.invokeMs);
    if (before === 0) continue;
    const highest = prefixMax[before - 1];
    if (highest.order >= order) {
      reporter.report(
        "id-order",
        key,
        `${op.input} got ${op.output}, not above ${highest.op.output} acknowledged before`,
        [highest.op, op],
      );
    }
  }
}

/** Each entry is delivered as new once, in id order, after its add began. */
function checkDeliveries(
  key: string,
  deliveries: Operation[],
  addOf: Map<string, Operation>,
  valueAt: Map<string, string>,
  final: StreamFinal | undefined,
  reporter: Reporter,
): Map<string, Delivery> {
  const delivered = new Map<string, Delivery>();
  const spans: { op: Operation; low: bigint; high: bigint }[] = [];
  for (const op of deliveries) {
    const entries = op.output as StreamEntry[];
    if (entries.length === 0) continue;
    let previous = -1n;
    for (const [id, value] of entries) {
      const order = idOrder(id);
      if (order <= previous) {
        reporter.report("delivery-order", key, `one reply has ${id} after a higher id`, [op]);
      }
      previous = order;
      const earlier = delivered.get(id);
      if (earlier) {
        reporter.report("duplicate-delivery", key, `${id} was delivered as new twice`, [
          earlier.op,
          op,
        ]);
      }
      delivered.set(id, { op, value });
      const add = addOf.get(value);
      if (final && valueAt.get(id) !== value) {
        reporter.report("unknown-delivery", key, `${id} was delivered with ${value}`, [op]);
      } else if (add && op.completeMs < add.invokeMs) {
        reporter.report("delivered-before-added", key, `${value} was delivered before added`, [
          add,
          op,
        ]);
      }
    }
    spans.push({ op, low: idOrder(entries[0][0]), high: previous });
  }
  spans.sort((a, b) => a.op.completeMs - b.op.completeMs);
  const prefixHigh: (typeof spans)[number][] = [];
  for (const span of spans) {
    const last = prefixHigh.at(-1);
    prefixHigh.push(last && last.high > span.high ? last : span);
  }
  const completions = spans.map((s) => s.op.completeMs);
  for (const span of spans) {
    const before = countBelow(completions, span.op.invokeMs);
    if (before === 0) continue;
    const highest = prefixHigh[before - 1];
    if (highest.high >= span.low) {
      reporter.report(
        "delivery-order",
        key,
        "a read got an entry not above one delivered by a read that completed before it began",
        [highest.op, span.op],
      );
    }
  }
  return delivered;
}

/**
 * A read that got nothing ran while no acknowledged entry waited undelivered: from its add's
 * acknowledgement until the read that delivered it began (for good if the group never did).
 */
function checkMissed(
  key: string,
  ops: Operation[],
  adds: Operation[],
  delivered: Map<string, Delivery>,
  final: StreamFinal | undefined,
  reporter: Reporter,
): void {
  const lastDelivered = final ? idOrder(final.lastDelivered) : undefined;
  const waiting: Presence[] = [];
  for (const add of adds) {
    if (add.status !== "ok") continue;
    const id = String(add.output);
    const delivery = delivered.get(id);
    if (delivery) waiting.push({ op: add, untilMs: delivery.op.invokeMs });
    else if (lastDelivered !== undefined && idOrder(id) > lastDelivered) {
      waiting.push({ op: add, untilMs: Infinity });
    }
  }
  const waitingThroughout = presentThroughout(waiting);
  for (const read of ops) {
    if (read.f !== "deliver" || read.status !== "ok") continue;
    if ((read.output as StreamEntry[]).length > 0) continue;
    const missed = waitingThroughout(read);
    if (missed) {
      reporter.report(
        "missed-entry",
        key,
        `a read got nothing while ${missed.op.output} waited undelivered`,
        [missed.op, read],
      );
    }
  }
}

interface PendingHistory {
  final: StreamFinal;
  finalOp: Operation;
  delivered: Map<string, Delivery>;
  claims: Operation[];
  acks: Operation[];
  ops: Operation[];
}

/**
 * Up to the group's final position every entry was delivered, and stays pending until an XACK
 * that may have run; nothing else is pending, and nothing acknowledged is claimed afterwards.
 */
function checkPending(key: string, h: PendingHistory, reporter: Reporter): void {
  const lastDelivered = idOrder(h.final.lastDelivered);
  const entryIds = new Set(h.final.entries.map(([id]) => id));
  for (const [id, delivery] of h.delivered) {
    if (idOrder(id) > lastDelivered) {
      reporter.report(
        "last-delivered-regressed",
        key,
        `the group's last-delivered id ${h.final.lastDelivered} is below ${id}, delivered`,
        [delivery.op, h.finalOp],
      );
    }
  }
  const ackedWhen = new Map<string, Operation>();
  const ackTried = new Set<string>();
  for (const ack of h.acks) {
    for (const id of ack.input as string[]) {
      ackTried.add(id);
      const earlier = ackedWhen.get(id);
      if (ack.status === "ok" && (!earlier || ack.completeMs < earlier.completeMs)) {
        ackedWhen.set(id, ack);
      }
    }
  }
  const pending = new Set(h.final.pending);
  const seen = new Set(h.delivered.keys());
  for (const claim of h.claims) for (const [id] of claim.output as StreamEntry[]) seen.add(id);
  let unseen = 0;
  for (const [id] of h.final.entries) {
    if (idOrder(id) > lastDelivered) continue;
    if (!seen.has(id)) unseen++;
    if (!ackTried.has(id) && !pending.has(id)) {
      reporter.report("lost-pending", key, `${id} was delivered, never acknowledged, not pending`, [
        ...(h.delivered.has(id) ? [h.delivered.get(id)!.op] : []),
        h.finalOp,
      ]);
    }
  }
  const allowance = h.ops.filter((op) => op.f === "deliver" && op.status === "info")
    .reduce((n, op) => n + Number(op.input), 0);
  if (unseen > allowance) {
    reporter.report(
      "lost-delivery",
      key,
      `${unseen} entries up to ${h.final.lastDelivered} were delivered to nobody seen, and ` +
        `indeterminate reads could have taken at most ${allowance}`,
      [h.finalOp],
    );
  }
  for (const id of pending) {
    if (!entryIds.has(id) || idOrder(id) > lastDelivered) {
      reporter.report("unknown-pending", key, `${id} is pending but was never delivered`, [
        h.finalOp,
      ]);
    }
    const ack = ackedWhen.get(id);
    if (ack) reporter.report("ack-lost", key, `${id} is still pending after its XACK`, [ack]);
  }
  const valueAt = new Map(h.final.entries);
  for (const claim of h.claims) {
    for (const [id, value] of claim.output as StreamEntry[]) {
      if (valueAt.get(id) !== value || idOrder(id) > lastDelivered) {
        reporter.report("unknown-delivery", key, `${id} was claimed with ${value}`, [
          claim,
          h.finalOp,
        ]);
      }
      const ack = ackedWhen.get(id);
      if (ack && ack.completeMs < claim.invokeMs) {
        reporter.report("ack-lost", key, `${id} was claimed after its XACK`, [ack, claim]);
      }
    }
  }
}
