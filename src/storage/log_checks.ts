/**
 * @module
 * Argument checks every log store makes the same way (the segmented log and the in-memory one
 * behave identically, which the conformance tests hold them to).
 */
import { assert, assertIndex } from "./assert.ts";
import { recordBytes } from "./record_codec.ts";
import type { LogRecord } from "./types.ts";

/**
 * Records that may follow a log ending at `lastIndex` with `lastTerm`: consecutive indexes,
 * terms that never go down, a one-byte type, each at most `recordMaxBytes` encoded. Returns the
 * term of the last record.
 */
export function assertAppendable(
  records: readonly LogRecord[],
  lastIndex: number,
  lastTerm: number,
  recordMaxBytes = Infinity,
): number {
  let expectedIndex = lastIndex + 1;
  let term = lastTerm;
  for (const record of records) {
    assert(
      record.index === expectedIndex,
      `append index ${record.index}, expected ${expectedIndex}`,
    );
    assert(record.term >= term, `append term ${record.term} after term ${term}`);
    assert(
      recordBytes(record) <= recordMaxBytes,
      `record ${record.index} of ${recordBytes(record)} bytes exceeds recordMaxBytes`,
    );
    assert(
      Number.isInteger(record.type) && record.type >= 0 && record.type <= 255,
      "record type",
    );
    expectedIndex++;
    term = record.term;
  }
  return term;
}

/** `truncateSuffix(fromIndex)` keeps at least the log's start and may point one past its end. */
export function assertTruncatable(fromIndex: number, firstIndex: number, lastIndex: number): void {
  assertIndex(fromIndex, "fromIndex");
  if (fromIndex < firstIndex || fromIndex > lastIndex + 1) {
    throw new RangeError(`truncateSuffix(${fromIndex}) outside ${firstIndex}..${lastIndex + 1}`);
  }
}
