/**
 * @module
 * Checks reads answered from one node's own state (`stale-list`: input `stale@<addr>`) across
 * keys: a node never answers from older state than it answered before, also after a restart.
 *
 * Appends carry globally unique values. A read at node X that shows value v proves X had
 * applied v's append; every append acknowledged before v's append was invoked sits earlier in
 * the log, so X had applied it too. A later read at X (invoked after that read completed) must
 * therefore show every append to its key acknowledged before that moment. Keys rotate faster
 * than a node restarts, so a check within one key alone would rarely see a restarted node read
 * a key it had read before; this one compares a node's reads of any keys.
 */
import { formatOp, type Operation } from "../history.ts";
import { maxCompletedBefore } from "./realtime.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

/** Input of a read served from one node's own state: this prefix and the node's address. */
export const staleReadPrefix = "stale@";

/** Anomalies beyond this are counted, not listed. */
const anomaliesListedMax = 10;

export function staleReadNode(op: Operation): string | undefined {
  const input = op.input;
  return typeof input === "string" && input.startsWith(staleReadPrefix)
    ? input.slice(staleReadPrefix.length)
    : undefined;
}

export function checkReplicaReads(ops: Operation[]): Verdict {
  const appendOf = new Map<string, Operation>();
  const ackedByKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.f !== "append") continue;
    appendOf.set(String(op.input), op);
    if (op.status !== "ok") continue;
    const list = ackedByKey.get(op.key) ?? [];
    list.push(op);
    ackedByKey.set(op.key, list);
  }
  for (const list of ackedByKey.values()) list.sort((a, b) => a.completeMs - b.completeMs);

  /** The latest invocation among the appends a read shows: everything acknowledged before it was applied. */
  const horizonMs = (read: Operation) => {
    let horizon = -Infinity;
    for (const value of read.output as string[]) {
      horizon = Math.max(horizon, appendOf.get(value)?.invokeMs ?? -Infinity);
    }
    return horizon;
  };

  const anomalies: Anomaly[] = [];
  let found = 0;
  const reads = ops.filter((op) =>
    op.status === "ok" && Array.isArray(op.output) && staleReadNode(op) !== undefined
  );
  const byNode = Map.groupBy(reads, (op) => staleReadNode(op)!);
  for (const [node, nodeReads] of byNode) {
    const horizons = new Map(nodeReads.map((op) => [op, horizonMs(op)]));
    const earlier = maxCompletedBefore(nodeReads, nodeReads, (op) => horizons.get(op)!);
    for (const read of nodeReads) {
      const before = earlier.get(read);
      if (!before) continue;
      const horizon = horizons.get(before)!;
      const shown = new Set(read.output as string[]);
      const missing = (ackedByKey.get(read.key) ?? []).find((append) =>
        append.completeMs < horizon && !shown.has(String(append.input))
      );
      if (!missing) continue;
      if (found++ < anomaliesListedMax) {
        anomalies.push({
          kind: "node-went-back",
          key: read.key,
          message: `${node} answered from older state than an earlier read there: ` +
            `${read.key} lacks ${missing.input}, acknowledged before that read showed a later append`,
          ops: [before, missing, read].map(formatOp),
        });
      }
    }
  }
  if (found > anomaliesListedMax) {
    anomalies.push({
      kind: "node-went-back",
      message: `${found - anomaliesListedMax} more not listed`,
    });
  }
  return verdictOf("replica-reads", anomalies, { reads: reads.length, nodes: byNode.size });
}
