/**
 * Flow control for one follower: a ring buffer of the AppendEntries messages in
 * flight (their last index and payload bytes), bounded by count and bytes.
 *
 * @module
 */

import { assert } from "./assert.ts";

export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizesBytes: Float64Array;
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(private readonly maxCount: number, private readonly maxBytes: number) {
    this.lastIndexes = new Float64Array(maxCount);
    this.sizesBytes = new Float64Array(maxCount);
  }

  get size(): number {
    return this.count;
  }

  full(): boolean {
    return this.count >= this.maxCount || this.bytes >= this.maxBytes;
  }

  add(lastIndex: number, sizeBytes: number): void {
    assert(this.count < this.maxCount, "inflights overflow");
    const at = (this.start + this.count) % this.maxCount;
    if (this.count > 0) {
      const prev = this.lastIndexes[(at + this.maxCount - 1) % this.maxCount];
      assert(lastIndex > prev, "inflights must grow");
    }
    this.lastIndexes[at] = lastIndex;
    this.sizesBytes[at] = sizeBytes;
    this.count++;
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start] <= index) {
      this.bytes -= this.sizesBytes[this.start];
      this.start = (this.start + 1) % this.maxCount;
      this.count--;
    }
    if (this.count === 0) this.bytes = 0;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
