/**
 * Counters for fdatasync calls (INFO raft: raft_fsync_count, raft_fsync_max_microseconds,
 * raft_fsync_avg_microseconds).
 *
 * @module
 */

import type { SyncStats } from "./types.ts";

export class SyncStatsRecorder {
  #count = 0;
  #microsecondsMax = 0;
  #microsecondsTotal = 0;

  record(microseconds: number): void {
    this.#count++;
    this.#microsecondsTotal += microseconds;
    if (microseconds > this.#microsecondsMax) this.#microsecondsMax = microseconds;
  }

  /** Times `fsync` and records it. */
  async time(fsync: () => Promise<void>): Promise<void> {
    const startMs = performance.now();
    await fsync();
    this.record(Math.round((performance.now() - startMs) * 1000));
  }

  /** Times a synchronous `fsync` and records it. */
  timeSync(fsync: () => void): void {
    const startMs = performance.now();
    fsync();
    this.record(Math.round((performance.now() - startMs) * 1000));
  }

  get stats(): SyncStats {
    return {
      syncCount: this.#count,
      syncMicrosecondsMax: this.#microsecondsMax,
      syncMicrosecondsAvg: this.#count === 0
        ? 0
        : Math.round(this.#microsecondsTotal / this.#count),
    };
  }
}
