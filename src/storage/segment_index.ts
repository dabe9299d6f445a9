/**
 * The in-memory index of one segment: where each record starts and its term, so
 * `read` seeks straight to a record and `termAt` needs no I/O.
 *
 * @module
 */

import { join } from "node:path";

export const SEGMENT_FILE_SUFFIX = ".seg";
const SEGMENT_NAME_DIGITS = 20;

/** `00000000000000000001.seg`: segments are named by the index of their first record. */
export function segmentFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(SEGMENT_NAME_DIGITS, "0")}${SEGMENT_FILE_SUFFIX}`;
}

/** The first index named by a segment file name, or undefined if it is not one. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{20})\.seg$/.exec(name);
  if (match === null) return undefined;
  const firstIndex = Number(match[1]);
  return Number.isSafeInteger(firstIndex) && firstIndex >= 1 ? firstIndex : undefined;
}

export class SegmentIndex {
  /** Byte offset of record `firstIndex + i`. */
  offsets: number[];
  terms: number[];
  /** End of the last record, including records not yet written. */
  sizeBytes: number;

  constructor(
    readonly firstIndex: number,
    readonly path: string,
    offsets: number[] = [],
    terms: number[] = [],
    sizeBytes = 0,
  ) {
    this.offsets = offsets;
    this.terms = terms;
    this.sizeBytes = sizeBytes;
  }

  static create(logDir: string, firstIndex: number): SegmentIndex {
    return new SegmentIndex(firstIndex, join(logDir, segmentFileName(firstIndex)));
  }

  get count(): number {
    return this.offsets.length;
  }

  get lastIndex(): number {
    return this.firstIndex + this.offsets.length - 1;
  }

  offsetOf(index: number): number {
    return this.offsets[index - this.firstIndex];
  }

  /** Offset just past the record at `index`. */
  endOf(index: number): number {
    return index === this.lastIndex ? this.sizeBytes : this.offsets[index - this.firstIndex + 1];
  }

  push(offset: number, term: number, bytes: number): void {
    this.offsets.push(offset);
    this.terms.push(term);
    this.sizeBytes = offset + bytes;
  }

  /** Drops records with index >= `fromIndex`. */
  truncate(fromIndex: number): void {
    const keep = fromIndex - this.firstIndex;
    if (keep >= this.offsets.length) return;
    this.sizeBytes = this.offsets[keep];
    this.offsets.length = keep;
    this.terms.length = keep;
  }
}
