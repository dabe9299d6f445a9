/**
 * @module
 * Runs the chosen nemeses one fault at a time, in an order and with timings drawn from the run's
 * seed: quiet interval, fault, hold, heal. Every start and stop goes into the history. `stop()`
 * ends the schedule after healing the fault in progress.
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

export class NemesisScheduler {
  private stopping = false;
  private wake: (() => void) | null = null;
  faults = 0;

  constructor(
    private readonly nemeses: Nemesis[],
    private readonly context: NemesisContext,
    private readonly history: History,
    private readonly timing: ScheduleTiming = defaultTiming,
  ) {}

  async run(): Promise<void> {
    const random = this.context.random;
    const between = (min: number, max: number) => min + random() * (max - min);
    while (!this.stopping && this.nemeses.length > 0) {
      await this.sleep(between(this.timing.quietMsMin, this.timing.quietMsMax));
      if (this.stopping) break;
      const nemesis = this.nemeses[Math.floor(random() * this.nemeses.length)];
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
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
