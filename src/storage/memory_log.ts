/**
 * An in-memory {@link LogStore} with the semantics of the segmented log, for simulation
 * and tests. Its "disk" is a {@link MemoryLogDisk} that outlives the store: a new store
 * opened on the same disk sees exactly what was durable, as after a crash. Operations go
 * through the same {@link FsyncBatcher}, so ordering and sync sharing match.
 *
 * Unlike the segmented log there are no segments: `compactPrefix` drops exactly the
 * durable records up to the given index.
 *
 * @module
 */

import { assert, assertIndex } from "./assert.ts";
import { assertAppendable, assertTruncatable } from "./log_checks.ts";
import { FsyncBatcher } from "./fsync_batcher.ts";
import { SyncStatsRecorder } from "./sync_stats.ts";
import type { LogRecord, LogStore, SyncStats } from "./types.ts";
import { RECORD_HEADER_BYTES } from "./record_codec.ts";

/** The durable state of a {@link MemoryLogStore}. */
export class MemoryLogDisk {
  firstIndex = 1;
  records: LogRecord[] = [];

  get lastIndex(): number {
    return this.firstIndex + this.records.length - 1;
  }
}

export class MemoryLogStore implements LogStore {
  readonly disk: MemoryLogDisk;
  #firstIndex = 1;
  #records: LogRecord[] = [];
  #pending: LogRecord[] = [];
  #syncedIndex = 0;
  #writtenIndex = 0;
  #flushDurableCap = Infinity;
  #state: "new" | "open" | "closed" = "new";
  readonly #batcher = new FsyncBatcher<LogRecord>((records) => this.#flush(records));
  readonly #syncStats = new SyncStatsRecorder();

  constructor(disk: MemoryLogDisk = new MemoryLogDisk()) {
    this.disk = disk;
  }

  get firstIndex(): number {
    return this.#firstIndex;
  }

  get lastIndex(): number {
    return this.#firstIndex + this.#records.length - 1;
  }

  get syncedIndex(): number {
    return this.#syncedIndex;
  }

  get writtenIndex(): number {
    return this.#writtenIndex;
  }

  get sizeBytes(): number {
    return this.bytesAfter(0);
  }

  bytesAfter(index: number): number {
    let total = 0;
    for (const record of this.#records) {
      if (record.index > index) total += RECORD_HEADER_BYTES + record.data.byteLength;
    }
    return total;
  }

  get stats(): SyncStats {
    return this.#syncStats.stats;
  }

  open(): Promise<void> {
    assert(this.#state === "new", "open called twice");
    this.#firstIndex = this.disk.firstIndex;
    this.#records = [...this.disk.records];
    this.#syncedIndex = this.lastIndex;
    this.#writtenIndex = this.lastIndex;
    this.#state = "open";
    return Promise.resolve();
  }

  append(records: readonly LogRecord[]): void {
    this.#assertUsable();
    assertAppendable(records, this.lastIndex, this.#records.at(-1)?.term ?? 0);
    for (const record of records) {
      this.#records.push(record);
      this.#pending.push(record);
    }
  }

  async sync(): Promise<void> {
    this.#assertUsable();
    if (this.#pending.length === 0) return await this.#batcher.barrier();
    const records = this.#pending;
    this.#pending = [];
    return await this.#batcher.submit(records);
  }

  async truncateSuffix(fromIndex: number): Promise<void> {
    this.#assertUsable();
    assertTruncatable(fromIndex, this.firstIndex, this.lastIndex);
    if (fromIndex === this.lastIndex + 1) return await this.#batcher.barrier();
    this.#records.length = fromIndex - this.#firstIndex;
    this.#dropUnwritten((record) => record.index < fromIndex);
    this.#flushDurableCap = Math.min(this.#flushDurableCap, fromIndex - 1);
    this.#syncedIndex = Math.min(this.#syncedIndex, fromIndex - 1);
    this.#writtenIndex = Math.min(this.#writtenIndex, fromIndex - 1);
    return await this.#batcher.run(() => {
      const keep = fromIndex - this.disk.firstIndex;
      if (this.disk.records.length > keep) this.disk.records.length = keep;
      return Promise.resolve();
    });
  }

  async compactPrefix(uptoIndex: number): Promise<void> {
    this.#assertUsable();
    assertIndex(uptoIndex, "uptoIndex");
    const newFirstIndex = Math.min(uptoIndex, this.#syncedIndex) + 1;
    if (newFirstIndex <= this.#firstIndex) return await this.#batcher.barrier();
    this.#records.splice(0, newFirstIndex - this.#firstIndex);
    this.#firstIndex = newFirstIndex;
    return await this.#batcher.run(() => {
      this.disk.records.splice(0, newFirstIndex - this.disk.firstIndex);
      this.disk.firstIndex = newFirstIndex;
      return Promise.resolve();
    });
  }

  async reset(nextIndex: number): Promise<void> {
    this.#assertUsable();
    assertIndex(nextIndex, "nextIndex");
    assert(nextIndex >= 1, "reset nextIndex must be >= 1");
    this.#firstIndex = nextIndex;
    this.#records = [];
    this.#dropUnwritten(() => false);
    this.#flushDurableCap = -Infinity;
    this.#syncedIndex = nextIndex - 1;
    this.#writtenIndex = nextIndex - 1;
    return await this.#batcher.run(() => {
      this.disk.firstIndex = nextIndex;
      this.disk.records = [];
      return Promise.resolve();
    });
  }

  termAt(index: number): number | undefined {
    if (this.#state !== "open") return undefined;
    return this.#records[index - this.#firstIndex]?.term;
  }

  read(fromIndex: number, toIndex: number, maxBytes = Infinity): Promise<LogRecord[]> {
    this.#assertUsable();
    if (fromIndex < this.firstIndex || toIndex > this.lastIndex || fromIndex > toIndex) {
      return Promise.reject(
        new RangeError(
          `read(${fromIndex}, ${toIndex}) outside ${this.firstIndex}..${this.lastIndex}`,
        ),
      );
    }
    const records: LogRecord[] = [];
    let payloadBytes = 0;
    for (let index = fromIndex; index <= toIndex; index++) {
      const record = this.#records[index - this.#firstIndex];
      if (records.length > 0 && payloadBytes + record.data.byteLength > maxBytes) break;
      records.push(record);
      payloadBytes += record.data.byteLength;
    }
    return Promise.resolve(records);
  }

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    this.#pending = [];
    await this.#batcher.run(() => Promise.resolve()).catch(() => {});
  }

  #assertUsable(): void {
    assert(this.#state === "open", `log is ${this.#state}`);
    const failure = this.#batcher.failure;
    if (failure !== undefined) throw failure;
  }

  #dropUnwritten(keep: (record: LogRecord) => boolean): void {
    this.#pending = this.#pending.filter(keep);
    this.#batcher.filterQueued(keep);
  }

  #flush(records: LogRecord[]): Promise<void> {
    this.#flushDurableCap = Infinity;
    if (records.length === 0) return Promise.resolve();
    for (const record of records) {
      assert(record.index === this.disk.lastIndex + 1, "flushed records continue the disk");
      this.disk.records.push(record);
    }
    this.#syncStats.record(0);
    const lastIndex = records[records.length - 1].index;
    this.#syncedIndex = Math.max(this.#syncedIndex, Math.min(lastIndex, this.#flushDurableCap));
    this.#writtenIndex = Math.max(this.#writtenIndex, this.#syncedIndex);
    return Promise.resolve();
  }
}
