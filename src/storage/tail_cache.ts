/**
 * The newest log records kept in memory: a contiguous suffix `firstIndex..lastIndex`
 * of the log, bounded by bytes. Records not yet durable are never evicted (they exist
 * nowhere else), so the leader replicates fresh entries without touching the disk.
 *
 * @module
 */

import { assert } from "./assert.ts";
import type { LogRecord } from "./types.ts";

export class TailCache {
  /** Evicted slots before `#head` are cleared so the records can be collected. */
  #records: (LogRecord | undefined)[] = [];
  /** Position in `#records` of the record at `#firstIndex`. */
  #head = 0;
  #firstIndex: number;
  #bytes = 0;

  constructor(firstIndex: number) {
    this.#firstIndex = firstIndex;
  }

  get firstIndex(): number {
    return this.#firstIndex;
  }

  get sizeBytes(): number {
    return this.#bytes;
  }

  get(index: number): LogRecord | undefined {
    if (index < this.#firstIndex) return undefined;
    return this.#records[this.#head + index - this.#firstIndex];
  }

  push(record: LogRecord): void {
    assert(
      record.index === this.#firstIndex + this.#records.length - this.#head,
      `cache push of index ${record.index} is not contiguous`,
    );
    this.#records.push(record);
    this.#bytes += record.data.byteLength;
  }

  /** Drops records with index >= `fromIndex`. */
  truncate(fromIndex: number): void {
    if (fromIndex <= this.#firstIndex) {
      this.reset(fromIndex);
      return;
    }
    const keep = this.#head + fromIndex - this.#firstIndex;
    while (this.#records.length > keep) this.#bytes -= this.#records.pop()!.data.byteLength;
  }

  /** Drops records with index < `index`. */
  dropBefore(index: number): void {
    while (this.#firstIndex < index && this.#head < this.#records.length) this.#shift();
    if (this.#firstIndex < index) this.#firstIndex = index;
  }

  /** Evicts the oldest records while over `maxBytes`, but none with index > `evictableUpto`. */
  evict(maxBytes: number, evictableUpto: number): void {
    while (
      this.#bytes > maxBytes && this.#head < this.#records.length &&
      this.#firstIndex <= evictableUpto
    ) this.#shift();
  }

  reset(firstIndex: number): void {
    this.#records = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#firstIndex = firstIndex;
  }

  #shift(): void {
    this.#bytes -= this.#records[this.#head]!.data.byteLength;
    this.#records[this.#head] = undefined;
    this.#head++;
    this.#firstIndex++;
    // Compact the backing array once the dead prefix dominates.
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }
}
