/**
 * @module
 * Slow one node's network link (the leader's half of the time): everything it sends and receives,
 * peers and clients alike, goes through a token bucket of a few kilobits to a few megabits per
 * second whose queue holds 20 to 500 ms, and what overflows is dropped: a congested or degraded
 * link, a gray failure rather than a clean cut. Appends and snapshot chunks back up behind it
 * (the bounded peer queues), heartbeats arrive late or not at all, TCP retransmits. Needs
 * network namespaces.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

/** Link rates drawn from, kilobits per second. */
export const slowLinkRatesKbit = [32, 256, 2048] as const;
/** How long the bucket's queue may hold what waits, drawn from, ms. */
export const slowLinkQueuesMs = [20, 100, 500] as const;

export class SlowLinkNemesis implements Nemesis {
  readonly name = "slowlink";
  private victim: ChaosNode | null = null;

  async start(context: NemesisContext): Promise<string> {
    if (!context.network.canPartition) return "slow links unsupported on this network";
    const target = await pickTarget(context);
    if (!target) return "no running node";
    const pick = <T>(values: readonly T[]) => values[Math.floor(context.random() * values.length)];
    const rateKbit = pick(slowLinkRatesKbit);
    const queueMs = pick(slowLinkQueuesMs);
    this.victim = target;
    await context.network.slowLink(target.spec.slot, rateKbit, queueMs);
    return `${target.name}'s link at ${rateKbit} kbit/s, ${queueMs} ms queue`;
  }

  async stop(context: NemesisContext): Promise<string> {
    const victim = this.victim;
    this.victim = null;
    if (!victim) return "no slow link";
    await context.network.restoreLink(victim.spec.slot);
    return `${victim.name}'s link at full speed`;
  }
}
