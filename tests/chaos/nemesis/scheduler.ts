/**
 * @module
 * Runs the chosen nemeses in an order and with timings drawn from the run's seed: quiet
 * interval, fault, hold, heal. With `overlap` > 1, that many lanes run side by side, so faults of
 * different kinds overlap (never two of the same kind: each nemesis holds one fault). Every start
 * and stop goes into the history. `stop()` ends the schedule after healing the faults in progress.
 */
import type { History } from "../history.ts";
import type { Nemesis, NemesisContext } from "./nemesis.ts";

export interface ScheduleTiming {
  quietMsMin: number;
  quietMsMax: number;
  holdMsMin: number;
  holdMsMax: number;
}

export const defaultTiming: ScheduleTiming = {
  quietMsMin: 1000,
  quietMsMax: 4000,
  holdMsMin: 2000,
  holdMsMax: 8000,
};

/** Most faults held at once (`--overlap`). */
export const overlapMaxCount = 3;

export class NemesisScheduler {
  private stopping = false;
  private readonly wakes = new Set<() => void>();
  /** Nemeses holding a fault right now (one lane each). */
  private readonly active = new Set<Nemesis>();
  faults = 0;

  constructor(
    private readonly nemeses: Nemesis[],
    private readonly context: NemesisContext,
    private readonly history: History,
    private readonly timing: ScheduleTiming = defaultTiming,
    private readonly overlap = 1,
  ) {
    if (!(overlap >= 1 && overlap <= overlapMaxCount)) {
      throw new RangeError(`overlap must be 1..${overlapMaxCount}`);
    }
  }

  async run(): Promise<void> {
    const lanes = Math.min(this.overlap, Math.max(1, this.nemeses.length));
    await Promise.all(Array.from({ length: lanes }, () => this.lane()));
  }

  private async lane(): Promise<void> {
    const random = this.context.random;
    const between = (min: number, max: number) => min + random() * (max - min);
    while (!this.stopping && this.nemeses.length > 0) {
      await this.sleep(between(this.timing.quietMsMin, this.timing.quietMsMax));
      if (this.stopping) break;
      const idle = this.nemeses.filter((n) => !this.active.has(n));
      if (idle.length === 0) continue;
      const nemesis = idle[Math.floor(random() * idle.length)];
      this.active.add(nemesis);
      const holdMs = between(this.timing.holdMsMin, this.timing.holdMsMax);
      let started = "";
      try {
        started = await nemesis.start(this.context);
      } catch (error) {
        started = `start failed: ${(error as Error).message}`;
      }
      this.faults++;
      this.history.nemesis(nemesis.name, "start", started);
      await this.sleep(holdMs);
      let stopped = "";
      try {
        stopped = await nemesis.stop(this.context);
      } catch (error) {
        stopped = `stop failed: ${(error as Error).message}`;
      }
      this.history.nemesis(nemesis.name, "stop", stopped);
      this.active.delete(nemesis);
    }
  }

  stop(): void {
    this.stopping = true;
    for (const wake of [...this.wakes]) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wakes = this.wakes;
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakes.delete(done);
        resolve();
      }
      wakes.add(done);
    });
  }
}
