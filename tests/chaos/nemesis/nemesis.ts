/**
 * @module
 * A nemesis injects one kind of fault (`start`) and later undoes it (`stop`). Both return a line
 * for the history. A fault that cannot apply now (no leader to target, too few nodes) says so
 * and does nothing; `stop` must be safe to call after any `start`.
 */
import type { ChaosCluster } from "../cluster_manager.ts";
import type { ChaosNode } from "../chaos_node.ts";
import type { Network } from "../network.ts";

export interface NemesisContext {
  cluster: ChaosCluster;
  network: Network;
  random: () => number;
}

export interface Nemesis {
  readonly name: string;
  start(context: NemesisContext): Promise<string>;
  stop(context: NemesisContext): Promise<string>;
}

/** A running member: the leader with probability `leaderBias`, else any running member. */
export async function pickTarget(
  context: NemesisContext,
  leaderBias = 0.5,
): Promise<ChaosNode | null> {
  const running = context.cluster.members.filter((n) => n.state === "running");
  if (running.length === 0) return null;
  if (context.random() < leaderBias) {
    const leader = await context.cluster.leader();
    if (leader && leader.state === "running") return leader;
  }
  return running[Math.floor(context.random() * running.length)];
}

/** `items` in an order drawn from `random` (as the runs so far drew it, so seeds replay alike). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  return [...items].sort(() => random() - 0.5);
}
