/**
 * @module
 * Helpers shared by the checkers: for each operation, the most demanding earlier observation in
 * real time ("earlier" means completed strictly before the operation was invoked), and how many
 * of a sorted list of times lie before a time.
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

/** How many of the ascending `values` are strictly below `limit`. */
export function countBelow(values: number[], limit: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
