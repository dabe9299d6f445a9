/**
 * @module
 * Integers in RESP header lines, parsed with the exact rules of Redis's
 * `string2ll` (no sign `+`, no leading zeros, no spaces, `-0` rejected,
 * 64-bit signed range), straight from the byte buffer.
 */

const LLONG_MAX_DIGITS = "9223372036854775807";
const LLONG_MIN_DIGITS = "9223372036854775808";

/**
 * Parses `buf[from..to)` as `string2ll` would. Returns NaN when Redis would fail.
 * Values beyond 2^53 are returned approximately (callers only compare them to limits).
 */
export function parseRedisInteger(buf: Uint8Array, from: number, to: number): number {
  const length = to - from;
  if (length <= 0 || length >= 21) return NaN;
  if (length === 1 && buf[from] === 48) return 0;
  let p = from;
  const negative = buf[p] === 45;
  if (negative) {
    p++;
    if (p === to) return NaN;
  }
  const first = buf[p];
  if (first < 49 || first > 57) return NaN;
  let value = first - 48;
  const digitsFrom = p;
  for (p++; p < to; p++) {
    const digit = buf[p] - 48;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  const digits = to - digitsFrom;
  if (digits >= 19 && !fitsLongLong(buf, digitsFrom, digits, negative)) return NaN;
  return negative ? -value : value;
}

function fitsLongLong(buf: Uint8Array, from: number, digits: number, negative: boolean): boolean {
  if (digits > 19) return false;
  const bound = negative ? LLONG_MIN_DIGITS : LLONG_MAX_DIGITS;
  for (let i = 0; i < 19; i++) {
    const d = buf[from + i], b = bound.charCodeAt(i);
    if (d !== b) return d < b;
  }
  return true;
}
