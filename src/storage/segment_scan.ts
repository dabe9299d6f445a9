/**
 * Recovery scan of one segment file: validates every record and tells a torn tail
 * (safe to cut: the write that produced it was never acknowledged) from corruption
 * before the tail (a loud error naming the file and byte offset, never skipped).
 *
 * @module
 */

import { decodeRecord, peekIndex, RECORD_HEADER_BYTES } from "./record_codec.ts";

export interface SegmentScan {
  /** Byte offset of each valid record. */
  readonly offsets: number[];
  readonly terms: number[];
  /** Bytes of valid records; less than the file size when a torn tail must be cut. */
  readonly validBytes: number;
  /** Why the tail is invalid, when `validBytes` < file size and the rest is not all zeros. */
  readonly tailReason?: string;
  /** The bytes after the records are all zeros: preallocated space, nothing to cut. */
  readonly zeroTail: boolean;
}

/** Corruption that recovery must not paper over. */
export class LogCorruptionError extends Error {
  constructor(readonly path: string, readonly offset: number, reason: string) {
    super(`log corruption in ${path} at byte ${offset}: ${reason}`);
    this.name = "LogCorruptionError";
  }
}

/**
 * Scans `bytes` (a whole segment file whose first record must have index `firstIndex`).
 * Zeros after the last record are preallocated space (in any segment: the next segment's
 * first index still has to follow on). Only in the last segment may another invalid tail be
 * reported instead of thrown, and only when no valid record follows it.
 */
export function scanSegment(
  bytes: Uint8Array,
  path: string,
  firstIndex: number,
  previousTerm: number,
  isLast: boolean,
  recordMaxBytes: number,
): SegmentScan {
  const offsets: number[] = [];
  const terms: number[] = [];
  let offset = 0;
  let term = previousTerm;
  while (offset < bytes.length) {
    const expectedIndex = firstIndex + offsets.length;
    const result = decodeRecord(bytes, offset, recordMaxBytes);
    if (result.kind === "ok") {
      const { record } = result;
      if (record.index !== expectedIndex) {
        throw new LogCorruptionError(
          path,
          offset,
          `record index ${record.index}, expected ${expectedIndex}`,
        );
      }
      if (record.term < term) {
        throw new LogCorruptionError(path, offset, `term ${record.term} after term ${term}`);
      }
      offsets.push(offset);
      terms.push(record.term);
      term = record.term;
      offset = result.end;
      continue;
    }
    if (allZero(bytes, offset)) return { offsets, terms, validBytes: offset, zeroTail: true };
    if (!isLast) {
      throw new LogCorruptionError(path, offset, `${result.reason} in a non-last segment`);
    }
    const validAt = findValidRecord(bytes, offset + 1, expectedIndex, recordMaxBytes);
    if (validAt !== undefined) {
      throw new LogCorruptionError(
        path,
        offset,
        `${result.reason}, followed by a valid record at byte ${validAt}`,
      );
    }
    return { offsets, terms, validBytes: offset, tailReason: result.reason, zeroTail: false };
  }
  return { offsets, terms, validBytes: offset, zeroTail: false };
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Offset of the first valid record at or after `start` whose index could follow
 * `expectedIndex`, if any. The index filter keeps this cheap on garbage: a CRC is only
 * computed for headers whose index is plausible.
 */
function findValidRecord(
  bytes: Uint8Array,
  start: number,
  expectedIndex: number,
  recordMaxBytes: number,
): number | undefined {
  const indexMax = expectedIndex + Math.ceil((bytes.length - start) / RECORD_HEADER_BYTES);
  for (let offset = start; offset + RECORD_HEADER_BYTES <= bytes.length; offset++) {
    const index = peekIndex(bytes, offset);
    if (index === undefined || index < expectedIndex || index > indexMax) continue;
    if (decodeRecord(bytes, offset, recordMaxBytes).kind === "ok") return offset;
  }
  return undefined;
}
