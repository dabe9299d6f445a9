/**
 * @module
 * Collects a checker's anomalies, keeping the first few of each kind (a broken run can repeat
 * one anomaly thousands of times) while counting them all.
 */
import { formatOp, type Operation } from "../history.ts";
import type { Anomaly } from "./verdict.ts";

const anomaliesPerKindMax = 5;

export class Reporter {
  readonly anomalies: Anomaly[] = [];
  private readonly counts = new Map<string, number>();

  report(kind: string, key: string, message: string, involved: Operation[]): void {
    const seen = this.counts.get(kind) ?? 0;
    this.counts.set(kind, seen + 1);
    if (seen < anomaliesPerKindMax) {
      this.anomalies.push({ kind, key, message, ops: involved.map(formatOp) });
    }
  }
}
