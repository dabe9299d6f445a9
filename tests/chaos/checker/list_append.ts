/**
 * @module
 * Checks a list-append history (`MULTI; RPUSH k v; LRANGE k 0 -1; EXEC` appends and `LRANGE`
 * reads of unique values), per key:
 * - every observed list (reads and the list returned with each append) has no duplicates and
 *   only values some non-failed append tried to add (a failed append must stay invisible);
 * - an append's returned list ends with its own value (the transaction is atomic);
 * - all observed lists are prefixes of one another (one order of appends);
 * - real time: an append acknowledged before an observation started is in it, and an
 *   observation never shows fewer elements than one that completed before it started;
 * - every acknowledged append is in the final read.
 *
 * Reads from one node's own state (input `stale@<addr>`, READONLY or `--read-mode stale`) may
 * lag, so real time does not bind them; instead, per node, a read never shows fewer elements
 * than one that node answered before it started (also across that node's restarts). They still
 * count as observations for everything else: a later linearizable read must not show less.
 */
import { formatOp, type Operation } from "../history.ts";
import { maxCompletedBefore } from "./realtime.ts";
import { staleReadNode } from "./replica_reads.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

/** Anomalies of one kind on one key beyond this are counted, not listed. */
const anomaliesPerKindMax = 5;

export function checkListAppend(ops: Operation[]): Verdict {
  const anomalies: Anomaly[] = [];
  const keys = [...new Set(ops.map((op) => op.key))].sort();
  let observations = 0;
  for (const key of keys) {
    const keyOps = ops.filter((op) => op.key === key);
    observations += checkKey(key, keyOps, anomalies);
  }
  return verdictOf("list-append", anomalies, { keys: keys.length, ops: ops.length, observations });
}

function observedList(op: Operation): string[] | undefined {
  if (op.status !== "ok") return undefined;
  return Array.isArray(op.output) ? (op.output as unknown[]).map(String) : undefined;
}

function checkKey(key: string, ops: Operation[], anomalies: Anomaly[]): number {
  const counts = new Map<string, number>();
  const report = (kind: string, message: string, involved: Operation[]) => {
    const seen = counts.get(kind) ?? 0;
    counts.set(kind, seen + 1);
    if (seen < anomaliesPerKindMax) {
      anomalies.push({ kind, key, message, ops: involved.map(formatOp) });
    } else if (seen === anomaliesPerKindMax) {
      anomalies.push({ kind, key, message: `more ${kind} anomalies on ${key} not listed` });
    }
  };
  const appends = new Map<string, Operation>();
  for (const op of ops) if (op.f === "append") appends.set(String(op.input), op);
  const observers = ops.filter((op) => observedList(op) !== undefined);

  for (const op of observers) {
    const list = observedList(op)!;
    const seen = new Set<string>();
    for (const value of list) {
      if (seen.has(value)) report("duplicate-element", `${key}: ${value} appears twice`, [op]);
      seen.add(value);
      const append = appends.get(value);
      if (!append) report("phantom-element", `${key}: ${value} was never appended`, [op]);
      else if (append.status === "fail") {
        report("failed-append-visible", `${key}: ${value} is visible but its append failed`, [
          append,
          op,
        ]);
      }
    }
    if (op.f === "append" && list[list.length - 1] !== String(op.input)) {
      report(
        "append-not-last",
        `${key}: the list returned by the append does not end with its value`,
        [op],
      );
    }
  }

  const byLength = [...observers].sort((a, b) => observedList(a)!.length - observedList(b)!.length);
  for (let i = 1; i < byLength.length; i++) {
    const shorter = observedList(byLength[i - 1])!;
    const longer = observedList(byLength[i])!;
    const at = shorter.findIndex((value, index) => longer[index] !== value);
    if (at >= 0) {
      report(
        "incompatible-order",
        `${key}: two observed lists disagree at position ${at} (${shorter[at]} vs ${longer[at]})`,
        [byLength[i - 1], byLength[i]],
      );
    }
  }

  const longest = byLength.length > 0 ? observedList(byLength[byLength.length - 1])! : [];
  const position = new Map(longest.map((value, index) => [value, index]));
  const acked = ops.filter((op) => op.f === "append" && op.status === "ok");
  const needed = maxCompletedBefore(
    acked,
    observers,
    (op) => position.get(String(op.input)) ?? Infinity,
  );
  for (const op of observers) {
    const append = needed.get(op);
    if (!append || op.input === "final" || staleReadNode(op) !== undefined) continue;
    const value = String(append.input);
    if (!observedList(op)!.includes(value)) {
      report(
        "stale-read",
        `${key}: ${value} was acknowledged before this read started but is missing`,
        [
          append,
          op,
        ],
      );
    }
  }
  const length = (op: Operation) => observedList(op)!.length;
  const current = observers.filter((op) => staleReadNode(op) === undefined);
  const longer = maxCompletedBefore(observers, current, length);
  for (const op of current) {
    const before = longer.get(op);
    if (before && length(before) > length(op)) {
      report("read-went-backwards", `${key}: a later read shows fewer elements`, [before, op]);
    }
  }
  const staleByNode = Map.groupBy(
    observers.filter((op) => staleReadNode(op) !== undefined),
    (op) => staleReadNode(op)!,
  );
  for (const [node, reads] of staleByNode) {
    const longerOnNode = maxCompletedBefore(reads, reads, length);
    for (const op of reads) {
      const before = longerOnNode.get(op);
      if (before && length(before) > length(op)) {
        report(
          "node-went-backwards",
          `${key}: ${node} answered a read with fewer elements than one it answered earlier`,
          [before, op],
        );
      }
    }
  }

  const finals = observers.filter((op) => op.input === "final");
  if (finals.length > 0) {
    const final = new Set(observedList(finals[finals.length - 1])!);
    for (const append of acked) {
      if (!final.has(String(append.input))) {
        report("lost-append", `${key}: acknowledged ${append.input} is not in the final read`, [
          append,
          finals[finals.length - 1],
        ]);
      }
    }
  }
  return observers.length;
}
