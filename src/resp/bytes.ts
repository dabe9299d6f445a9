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

/**
 * Parts of at least this size are written as they are rather than copied together with their
 * neighbours: copying megabytes into fresh memory (page faults first) costs far more than a
 * write call.
 */
export const WRITE_COPY_MAX_BYTES = 64 * 1024;

/**
 * `parts` as few buffers to write, in order: each run of parts smaller than `copyMaxBytes`
 * joined into one (a lone part as it is), each larger part as it is.
 */
export function coalesceForWrite(
  parts: readonly Uint8Array[],
  copyMaxBytes = WRITE_COPY_MAX_BYTES,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let runStart = 0;
  const endRun = (end: number) => {
    if (end - runStart === 1) out.push(parts[runStart]);
    else if (end > runStart) out.push(concatBytes(parts.slice(runStart, end)));
  };
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].length < copyMaxBytes) continue;
    endRun(i);
    out.push(parts[i]);
    runStart = i + 1;
  }
  endRun(parts.length);
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
