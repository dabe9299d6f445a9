/**
 * @module
 * BCAST prefixes that must not overlap (one may not start another), checked and looked up in
 * sorted order. Redis compares every new prefix with every other, quadratic in their number; here
 * sorting finds, in O(n log n) comparisons, the same first overlap Redis reports, and a key's
 * one possible prefix is found by binary search: a client that names many prefixes neither stops
 * the node nor slows every write.
 */

/** True when `key` begins with `prefix` (byte for byte). */
export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return startsWith(a, b) || startsWith(b, a);
}

/** First position in `sorted` whose value is not below `value`. */
function lowerBound(sorted: readonly Uint8Array[], value: Uint8Array): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareBytes(sorted[mid], value) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The prefix in `sorted` that `key` starts with, if any. Apart from the empty prefix (BCAST
 * without PREFIX adds it unchecked, as Redis does), no two overlap: at most one of the others can
 * start the key, and it is the greatest one not above it.
 */
export function prefixOf(sorted: readonly Uint8Array[], key: Uint8Array): Uint8Array | undefined {
  if (sorted.length > 0 && sorted[0].length === 0) return sorted[0];
  const at = lowerBound(sorted, key);
  if (at < sorted.length && compareBytes(sorted[at], key) === 0) return sorted[at];
  return at > 0 && startsWith(key, sorted[at - 1]) ? sorted[at - 1] : undefined;
}

/**
 * The first member of `sorted` (as for prefixOf) that overlaps `value`, in sorted order: the
 * empty prefix, else the one `value` starts with (it sorts below every extension), else its
 * first extension.
 */
function firstOverlapIn(sorted: readonly Uint8Array[], value: Uint8Array): Uint8Array | undefined {
  if (sorted.length > 0 && sorted[0].length === 0) return sorted[0];
  const at = lowerBound(sorted, value);
  if (at > 0 && startsWith(value, sorted[at - 1])) return sorted[at - 1];
  return at < sorted.length && startsWith(sorted[at], value) ? sorted[at] : undefined;
}

/** Range minimum and maximum over a fixed array in O(1) per query (sparse tables). */
class RangeExtremes {
  private readonly mins: Int32Array[] = [];
  private readonly maxs: Int32Array[] = [];

  constructor(values: Int32Array) {
    this.mins.push(values);
    this.maxs.push(values);
    for (let width = 1; width * 2 <= values.length; width *= 2) {
      const lastMin = this.mins[this.mins.length - 1];
      const lastMax = this.maxs[this.maxs.length - 1];
      const count = lastMin.length - width;
      const min = new Int32Array(count);
      const max = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        min[i] = Math.min(lastMin[i], lastMin[i + width]);
        max[i] = Math.max(lastMax[i], lastMax[i + width]);
      }
      this.mins.push(min);
      this.maxs.push(max);
    }
  }

  /** [min, max] over positions from..to-1 (to > from). */
  over(from: number, to: number): [number, number] {
    const level = 31 - Math.clz32(to - from);
    const width = 1 << level;
    return [
      Math.min(this.mins[level][from], this.mins[level][to - width]),
      Math.max(this.maxs[level][from], this.maxs[level][to - width]),
    ];
  }
}

export type Overlap =
  | { prefix: Uint8Array; existing: Uint8Array }
  | { prefix: Uint8Array; provided: Uint8Array };

/**
 * The overlap Redis 7.0 reports for `added` (in the order given) against `existingSorted` (a
 * client's prefixes, sorted, none overlapping): for the first new prefix that overlaps anything,
 * the first existing prefix it overlaps in sorted order, else the first later new one it
 * overlaps. Undefined if none overlaps.
 */
export function firstOverlap(
  existingSorted: readonly Uint8Array[],
  added: readonly Uint8Array[],
): Overlap | undefined {
  const n = added.length;
  // Positions of the new prefixes in byte order; each one's extensions (itself and its copies
  // included) sit in one run from its own first position on.
  const order = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => compareBytes(added[a], added[b]) || a - b);
  const sorted = order.map((i) => added[i]);
  const positionOf = new Int32Array(n);
  order.forEach((original, position) => positionOf[original] = position);
  const extremes = n > 0 ? new RangeExtremes(Int32Array.from(order)) : undefined;
  let first = Infinity;
  for (let i = 0; i < n && i < first; i++) {
    if (firstOverlapIn(existingSorted, added[i])) first = i;
  }
  for (let i = 0; i < n; i++) {
    const value = added[i];
    const from = lowerBound(sorted, value);
    let low = from;
    let high = n;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (startsWith(sorted[mid], value)) low = mid + 1;
      else high = mid;
    }
    // The run from..low-1 holds every new prefix that starts with this one; without itself:
    const self = positionOf[i];
    for (const [a, b] of [[from, self], [self + 1, low]]) {
      if (a >= b) continue;
      const [min, max] = extremes!.over(a, b);
      if (max > i) first = Math.min(first, i); // this one starts a later one
      if (min < i) first = Math.min(first, min); // an earlier one starts with this one
    }
  }
  if (first === Infinity) return undefined;
  const prefix = added[first];
  const existing = firstOverlapIn(existingSorted, prefix);
  if (existing) return { prefix, existing };
  for (let j = first + 1; j < n; j++) {
    if (overlaps(prefix, added[j])) return { prefix, provided: added[j] };
  }
  throw new Error("an overlap was found but not named");
}
