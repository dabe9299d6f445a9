/**
 * Invariant checks for the storage layer: a broken invariant is a bug (or a disk that
 * lies), so it throws loudly instead of limping on.
 *
 * @module
 */

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`storage invariant violated: ${message}`);
}

/** A non-negative safe integer: the only kind of number used for indexes, terms and sizes. */
export function assertIndex(value: number, name: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, `${name} must be a safe integer >= 0`);
}
