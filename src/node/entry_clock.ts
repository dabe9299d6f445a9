/**
 * @module
 * The log's clock: the time each entry carries (its child runs it at that time), which never goes
 * back, and the time of the last applied entry, at which reads that must not get ahead of
 * entries in flight run.
 */

/** The time an entry carries, kept in snapshots (undefined for snapshots from before it). */
export function snapshotEntryTimeMs(extra: Record<string, unknown>): number | undefined {
  const timeMs = extra.entryTimeMs;
  return typeof timeMs === "number" && timeMs > 0 ? timeMs : undefined;
}

export class EntryClock {
  /** Latest entry time given or seen in the log: a leader's next entry gets no earlier time. */
  private lastEntryTimeMs = 0;
  /** The time of the last applied entry (kept in snapshots: the child loads them at it). */
  private lastAppliedTimeMs = 0;

  constructor(private readonly wallClockMs: () => number = Date.now) {}

  /** The time for an entry proposed now: the wall clock, never before an earlier entry's. */
  next(): number {
    this.lastEntryTimeMs = Math.max(this.wallClockMs(), this.lastEntryTimeMs);
    return this.lastEntryTimeMs;
  }

  /**
   * The time a read runs at on the leader: with entries still to be applied, the last applied
   * entry's (theirs are later, so it expires nothing they would see alive); with none, now, and
   * no later entry gets an earlier time.
   */
  readTimeMs(entriesInFlight: boolean): number {
    return entriesInFlight ? this.lastAppliedTimeMs : this.next();
  }

  /** Milliseconds since the latest entry time (a leader with no writes proposes its time). */
  idleMs(): number {
    return this.wallClockMs() - this.lastEntryTimeMs;
  }

  /** An entry carrying `timeMs` was applied. */
  applied(timeMs: number): void {
    this.lastAppliedTimeMs = timeMs;
    // A leader proposes only once every earlier entry is applied, so this covers them all.
    if (timeMs > this.lastEntryTimeMs) this.lastEntryTimeMs = timeMs;
  }

  /** The state as of a snapshot taken at `timeMs` (0: a snapshot from before entry times). */
  restore(timeMs: number): void {
    this.lastAppliedTimeMs = timeMs;
    this.lastEntryTimeMs = Math.max(this.lastEntryTimeMs, timeMs);
  }

  /** What a snapshot keeps (`entryTimeMs`). */
  get appliedTimeMs(): number {
    return this.lastAppliedTimeMs;
  }
}
