/**
 * @module
 * Byte helpers shared by every layer: joining buffers, ASCII-lowercasing a command name, and a
 * binary-safe string form of a key (for sets and maps).
 */

/** Concatenate encoded parts into one reply. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Longest input turned into a string with one `String.fromCharCode` call. */
const FROM_CHAR_CODE_MAX_BYTES = 4096;

/** `bytes` as a string, one char per byte, ASCII letters lowercased (other bytes untouched). */
export function lowerAscii(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > FROM_CHAR_CODE_MAX_BYTES) {
    return keyString(bytes).replace(/[A-Z]+/g, (s) => s.toLowerCase());
  }
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c >= 65 && c <= 90) {
      upper = true;
      break;
    }
  }
  if (!upper) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  const lowered = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    lowered[i] = c >= 65 && c <= 90 ? c + 32 : c;
  }
  return String.fromCharCode.apply(null, lowered);
}

/** A binary-safe string form of a key (one char per byte). */
export function keyString(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= FROM_CHAR_CODE_MAX_BYTES) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let s = "";
  for (let i = 0; i < n; i += FROM_CHAR_CODE_MAX_BYTES) {
    const part = bytes.subarray(i, Math.min(n, i + FROM_CHAR_CODE_MAX_BYTES));
    s += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return s;
}

/** The bytes of a binary string made by `keyString` (each char code is one byte). */
export function binaryBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
