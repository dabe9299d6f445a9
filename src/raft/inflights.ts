/**
 * Flow control for one follower: a ring buffer of the AppendEntries messages in
 * flight (their last index and payload bytes), bounded by count and bytes.
 *
 * @module
 */

import { assert } from "./assert.ts";

export class Inflights {
  private lastIndexes: Float64Array;
  private sizesBytes: Float64Array;
  /** Ring size: `maxCount`, or more while a lowered limit still has more in flight. */
  private capacity: number;
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(private maxCount: number, private readonly maxBytes: number) {
    this.capacity = maxCount;
    this.lastIndexes = new Float64Array(maxCount);
    this.sizesBytes = new Float64Array(maxCount);
  }

  /** A new count limit; messages already in flight stay tracked (none is sent until below). */
  resize(maxCount: number): void {
    assert(maxCount >= 1, "inflights limit >= 1");
    const capacity = Math.max(maxCount, this.count);
    const lastIndexes = new Float64Array(capacity);
    const sizesBytes = new Float64Array(capacity);
    for (let i = 0; i < this.count; i++) {
      lastIndexes[i] = this.lastIndexes[(this.start + i) % this.capacity];
      sizesBytes[i] = this.sizesBytes[(this.start + i) % this.capacity];
    }
    this.lastIndexes = lastIndexes;
    this.sizesBytes = sizesBytes;
    this.capacity = capacity;
    this.maxCount = maxCount;
    this.start = 0;
  }

  get size(): number {
    return this.count;
  }

  full(): boolean {
    return this.count >= this.maxCount || this.bytes >= this.maxBytes;
  }

  add(lastIndex: number, sizeBytes: number): void {
    assert(this.count < this.maxCount, "inflights overflow");
    const at = (this.start + this.count) % this.capacity;
    if (this.count > 0) {
      const prev = this.lastIndexes[(at + this.capacity - 1) % this.capacity];
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
      this.start = (this.start + 1) % this.capacity;
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
