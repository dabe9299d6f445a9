/**
 * Invariant check for the core: a broken invariant is a bug, so it throws loudly.
 *
 * @module
 */

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`raft invariant violated: ${message}`);
}
