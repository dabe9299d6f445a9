/**
 * @module
 * Turns monotonic time into Raft ticks. A timer callback fires once after the process was
 * stopped or starved, however long that lasted; counting the tick intervals that really passed
 * lets the core see the whole gap at once: a leader's lease and quorum check expire, a follower's
 * election timer runs out. Without it a leader paused past its lease would resume believing the
 * lease still held and answer lease reads from a state a newer leader has overtaken.
 */
export class TickClock {
  private lastTickAtMs: number;

  constructor(
    private readonly tickIntervalMs: number,
    /** Most ticks handed out at once (enough to expire every timeout of the core). */
    private readonly catchUpMaxTicks: number,
    nowMs: number,
  ) {
    this.lastTickAtMs = nowMs;
  }

  /** Whole tick intervals elapsed since the last ones handed out (at most catchUpMaxTicks). */
  take(nowMs: number): number {
    const elapsedTicks = Math.floor((nowMs - this.lastTickAtMs) / this.tickIntervalMs);
    if (elapsedTicks <= 0) return 0;
    this.lastTickAtMs += elapsedTicks * this.tickIntervalMs;
    return Math.min(elapsedTicks, this.catchUpMaxTicks);
  }
}
