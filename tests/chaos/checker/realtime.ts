/**
 * @module
 * Helper shared by the checkers: for each operation, the most demanding earlier observation in
 * real time. "Earlier" means completed strictly before the operation was invoked.
 */
import type { Operation } from "../history.ts";

/**
 * For each op in `targets`, the op of `sources` with the largest `score` among those that
 * completed before the target was invoked (or undefined). O((n + m) log(n + m)).
 */
export function maxCompletedBefore(
  sources: Operation[],
  targets: Operation[],
  score: (op: Operation) => number,
): Map<Operation, Operation | undefined> {
  const byCompletion = sources.filter((op) => Number.isFinite(op.completeMs))
    .sort((a, b) => a.completeMs - b.completeMs);
  const byInvoke = [...targets].sort((a, b) => a.invokeMs - b.invokeMs);
  const result = new Map<Operation, Operation | undefined>();
  let best: Operation | undefined;
  let i = 0;
  for (const target of byInvoke) {
    while (i < byCompletion.length && byCompletion[i].completeMs < target.invokeMs) {
      const candidate = byCompletion[i++];
      if (!best || score(candidate) > score(best)) best = candidate;
    }
    result.set(target, best);
  }
  return result;
}
