/**
 * @module
 * Helpers shared by the checkers: for each operation, the most demanding earlier observation in
 * real time ("earlier" means completed strictly before the operation was invoked), what was
 * present for an operation's whole run, and how many of a sorted list of times lie before a time.
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

/** Something present from its operation's acknowledgement (`op.completeMs`) until `untilMs`. */
export interface Presence {
  op: Operation;
  untilMs: number;
}

/**
 * A lookup over `presences`: for an operation, one present for its whole run (acknowledged
 * before it began, still there after it completed), or undefined. O(n log n) to build, O(log n)
 * per lookup.
 */
export function presentThroughout<P extends Presence>(
  presences: P[],
): (op: Operation) => P | undefined {
  const sorted = [...presences].sort((a, b) => a.op.completeMs - b.op.completeMs);
  // prefixLatest[i]: among sorted[0..i], the one that stayed longest.
  const prefixLatest: P[] = [];
  for (const presence of sorted) {
    const last = prefixLatest.at(-1);
    prefixLatest.push(last && last.untilMs >= presence.untilMs ? last : presence);
  }
  const completions = sorted.map((presence) => presence.op.completeMs);
  return (op) => {
    const count = countBelow(completions, op.invokeMs);
    if (count === 0) return undefined;
    const longest = prefixLatest[count - 1];
    return longest.untilMs > op.completeMs ? longest : undefined;
  };
}
