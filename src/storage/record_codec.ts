/**
 * The on-disk frame of one log record (all integers little-endian):
 *
 * ```
 * offset size field
 *      0    4 payload length (u32)
 *      4    4 crc32c of bytes [8, 25 + length)
 *      8    8 term  (u64, < 2^53)
 *     16    8 index (u64, < 2^53)
 *     24    1 type  (u8)
 *     25    n payload
 * ```
 *
 * @module
 */

import { assert } from "./assert.ts";
import { crc32c } from "./crc32c.ts";
import type { LogRecord } from "./types.ts";

export const RECORD_HEADER_BYTES = 25;
const CRC_START = 8;
const TWO_POW_32 = 0x1_0000_0000;

/** Default upper bound of one framed record: 512 MiB payload + header. */
export const RECORD_MAX_BYTES_DEFAULT = 512 * 1024 * 1024 + RECORD_HEADER_BYTES;

export function recordBytes(record: LogRecord): number {
  return RECORD_HEADER_BYTES + record.data.byteLength;
}

/** Writes the frame of `record` into `out` at `offset`; returns the offset after it. */
export function encodeRecord(out: Uint8Array, offset: number, record: LogRecord): number {
  const payloadAt = encodeRecordHeader(out, offset, record);
  out.set(record.data, payloadAt);
  return payloadAt + record.data.byteLength;
}

/**
 * Writes the header of `record`'s frame into `out` at `offset` (its checksum covers the payload,
 * which the caller writes after it); returns the offset after the header.
 */
export function encodeRecordHeader(out: Uint8Array, offset: number, record: LogRecord): number {
  const { term, index, type, data } = record;
  assert(Number.isSafeInteger(term) && term >= 0, `record term ${term} out of range`);
  assert(Number.isSafeInteger(index) && index >= 1, `record index ${index} out of range`);
  assert(Number.isInteger(type) && type >= 0 && type <= 255, `record type ${type} out of range`);
  writeU32(out, offset, data.byteLength);
  writeU64(out, offset + 8, term);
  writeU64(out, offset + 16, index);
  out[offset + 24] = type;
  const end = offset + RECORD_HEADER_BYTES;
  writeU32(out, offset + 4, crc32c(data, crc32c(out, 0, offset + CRC_START, end)));
  return end;
}

/** Outcome of decoding the frame at one offset. */
export type DecodeResult =
  | { readonly kind: "ok"; readonly record: LogRecord; readonly end: number }
  | { readonly kind: "torn"; readonly reason: string }
  | { readonly kind: "corrupt"; readonly reason: string };

/**
 * Decodes the frame at `offset` of `bytes` (which ends where the file ends). "torn"
 * means the frame does not fit in the bytes present (a partial header, or a length past
 * the end); "corrupt" means it fits but is invalid. The payload is copied out, so the
 * record does not pin `bytes`.
 */
export function decodeRecord(
  bytes: Uint8Array,
  offset: number,
  recordMaxBytes: number,
): DecodeResult {
  if (bytes.length - offset < RECORD_HEADER_BYTES) {
    return { kind: "torn", reason: "partial header" };
  }
  const length = readU32(bytes, offset);
  if (RECORD_HEADER_BYTES + length > recordMaxBytes) {
    return { kind: "corrupt", reason: `length ${length} exceeds recordMaxBytes ${recordMaxBytes}` };
  }
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) return { kind: "torn", reason: `length ${length} runs past end of file` };
  const crcStored = readU32(bytes, offset + 4);
  const crcActual = crc32c(bytes, 0, offset + CRC_START, end);
  if (crcStored !== crcActual) return { kind: "corrupt", reason: "crc32c mismatch" };
  const term = readU64(bytes, offset + 8);
  const index = readU64(bytes, offset + 16);
  if (term === undefined || index === undefined) {
    return { kind: "corrupt", reason: "term or index beyond 2^53" };
  }
  const type = bytes[offset + 24];
  const data = bytes.slice(offset + RECORD_HEADER_BYTES, end);
  return { kind: "ok", record: { index, term, type, data }, end };
}

/** Reads just the index field of the frame at `offset` (no validation). */
export function peekIndex(bytes: Uint8Array, offset: number): number | undefined {
  return readU64(bytes, offset + 16);
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value;
  out[offset + 1] = value >>> 8;
  out[offset + 2] = value >>> 16;
  out[offset + 3] = value >>> 24;
}

function writeU64(out: Uint8Array, offset: number, value: number): void {
  writeU32(out, offset, value >>> 0);
  writeU32(out, offset + 4, Math.floor(value / TWO_POW_32));
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
    (bytes[offset + 3] << 24)) >>> 0;
}

/** undefined when the value is not a safe integer. */
function readU64(bytes: Uint8Array, offset: number): number | undefined {
  const high = readU32(bytes, offset + 4);
  if (high >= 0x20_0000) return undefined;
  return high * TWO_POW_32 + readU32(bytes, offset);
}
