/**
 * @module
 * Clock drift: one running member (the leader half of the time) gets a monotonic clock running
 * slow or fast (tests/helpers/clock_rate.c, preloaded into every node of a run with this
 * nemesis); back to real time at `stop`. Its timers, ticks and leases all follow it. How far it
 * may drift is the run's choice (`lease bound` below): ReadIndex reads do not depend on clocks
 * at all, so without leases the rate goes anywhere from half to twice real time; with leases it
 * stays within what they assume.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { setClockRate } from "../../helpers/clock_rate.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

/** Without leases: rates from 1/maxRateFactor to maxRateFactor (log-uniform). */
const maxRateFactor = 2;

/**
 * The largest drift (a fraction) that lease reads tolerate between two nodes: the lease is the
 * election timeout less two ticks, and a follower votes only after a whole election timeout of
 * ticks since it last heard from the leader (at least one tick less in time).
 */
export function leaseDriftBound(electionTimeoutMs: number, tickIntervalMs: number): number {
  return 1 - (electionTimeoutMs - 2 * tickIntervalMs) / (electionTimeoutMs - tickIntervalMs);
}

export class ClockNemesis implements Nemesis {
  readonly name = "clock";
  private victim: ChaosNode | null = null;

  /** `maxDrift`: with lease reads, the largest fraction a clock may drift; else undefined. */
  constructor(private readonly maxDrift: number | undefined) {}

  async start(context: NemesisContext): Promise<string> {
    const target = await pickTarget(context);
    if (!target?.spec.clock) return "no running node";
    const direction = context.random() < 0.5 ? -1 : 1;
    const rate = this.maxDrift === undefined
      ? Math.pow(maxRateFactor, direction * context.random())
      : 1 + direction * this.maxDrift * context.random();
    await setClockRate(target.spec.clock.rateFile, rate);
    this.victim = target;
    return `${target.name}'s clock runs at ${rate.toFixed(3)}× real time`;
  }

  async stop(): Promise<string> {
    const victim = this.victim;
    this.victim = null;
    if (!victim?.spec.clock) return "no clock drifting";
    await setClockRate(victim.spec.clock.rateFile, 1);
    return `${victim.name}'s clock back to real time`;
  }
}
