/**
 * @module
 * Final convergence: after healing, every node's `RAFT.DEBUG DIGEST` taken at the same applied
 * index must be equal. Samples at different indexes prove nothing and are only counted.
 */
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

export interface DigestSample {
  node: string;
  appliedIndex: number;
  digest: string;
}

export function checkConvergence(samples: DigestSample[]): Verdict {
  const anomalies: Anomaly[] = [];
  const byIndex = new Map<number, DigestSample[]>();
  for (const sample of samples) {
    byIndex.set(sample.appliedIndex, [...(byIndex.get(sample.appliedIndex) ?? []), sample]);
  }
  let compared = 0;
  for (const [index, group] of byIndex) {
    if (group.length < 2) continue;
    compared += group.length;
    if (new Set(group.map((s) => s.digest)).size > 1) {
      anomalies.push({
        kind: "divergence",
        message: `nodes disagree at applied index ${index}`,
        ops: group.map((s) => `${s.node} applied=${s.appliedIndex} digest=${s.digest}`),
      });
    }
  }
  const nodes = new Set(samples.map((s) => s.node)).size;
  const unknown = anomalies.length === 0 && compared < nodes;
  return verdictOf("convergence", anomalies, { nodes, samples: samples.length, compared }, unknown);
}
