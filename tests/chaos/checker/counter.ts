/**
 * @module
 * Checks a counter history (INCR and GET on a few keys), per key:
 * - the final value lies between the acknowledged INCR count and that count plus the
 *   indeterminate ones;
 * - no two INCRs returned the same value, and no value exceeds that upper bound;
 * - real time: a value observed after another observation completed is not smaller (and an
 *   INCR's is strictly larger), and a read is at least the number of INCRs acknowledged before it.
 */
import { formatOp, type Operation } from "../history.ts";
import { countBelow, maxCompletedBefore } from "./realtime.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

const anomaliesPerKindMax = 5;

export function checkCounter(ops: Operation[]): Verdict {
  const anomalies: Anomaly[] = [];
  const keys = [...new Set(ops.map((op) => op.key))].sort();
  for (const key of keys) checkKey(key, ops.filter((op) => op.key === key), anomalies);
  return verdictOf("counter", anomalies, { keys: keys.length, ops: ops.length });
}

function valueOf(op: Operation): number | undefined {
  if (op.status !== "ok") return undefined;
  return op.output === null ? 0 : Number(op.output);
}

function checkKey(key: string, ops: Operation[], anomalies: Anomaly[]): void {
  const counts = new Map<string, number>();
  const report = (kind: string, message: string, involved: Operation[]) => {
    const seen = counts.get(kind) ?? 0;
    counts.set(kind, seen + 1);
    if (seen < anomaliesPerKindMax) {
      anomalies.push({ kind, key, message, ops: involved.map(formatOp) });
    }
  };
  const incrs = ops.filter((op) => op.f === "incr");
  const ackedCount = incrs.filter((op) => op.status === "ok").length;
  const upperBound = ackedCount + incrs.filter((op) => op.status === "info").length;
  const observers = ops.filter((op) => valueOf(op) !== undefined);

  const byValue = new Map<number, Operation>();
  for (const op of incrs) {
    const value = valueOf(op);
    if (value === undefined) continue;
    const other = byValue.get(value);
    if (other) report("duplicate-incr-result", `${key}: two INCRs returned ${value}`, [other, op]);
    byValue.set(value, op);
  }
  for (const op of observers) {
    if (valueOf(op)! > upperBound || valueOf(op)! < 0) {
      report("counter-out-of-bounds", `${key}: ${valueOf(op)} is outside [0, ${upperBound}]`, [op]);
    }
  }

  const finals = observers.filter((op) => op.input === "final");
  if (finals.length > 0) {
    const final = finals[finals.length - 1];
    if (valueOf(final)! < ackedCount) {
      report(
        "lost-increment",
        `${key}: final ${valueOf(final)} < ${ackedCount} acknowledged INCRs`,
        [final],
      );
    }
  }

  const larger = maxCompletedBefore(observers, observers, (op) => valueOf(op)!);
  for (const op of observers) {
    const before = larger.get(op);
    if (!before) continue;
    const strict = op.f === "incr";
    if (strict ? valueOf(op)! <= valueOf(before)! : valueOf(op)! < valueOf(before)!) {
      report("counter-went-backwards", `${key}: ${valueOf(op)} observed after ${valueOf(before)}`, [
        before,
        op,
      ]);
    }
  }
  const ackedIncrs = incrs.filter((op) => op.status === "ok");
  const reads = observers.filter((op) => op.f !== "incr");
  const sortedAcks = ackedIncrs.map((op) => op.completeMs).sort((a, b) => a - b);
  for (const op of reads) {
    const count = countBelow(sortedAcks, op.invokeMs);
    if (valueOf(op)! < count) {
      report("stale-read", `${key}: read ${valueOf(op)} after ${count} INCRs were acknowledged`, [
        op,
      ]);
    }
  }
}
