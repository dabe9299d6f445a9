/**
 * @module
 * Network partitions between nodes (clients still reach every node, as in Jepsen): isolate one
 * node (the leader half of the time), split into a majority and a minority, cut one node's
 * outgoing traffic only (asymmetric: it still hears the others), or a bridge (the others split
 * in two halves that cannot reach each other, one node reaching both: reachability that is not
 * transitive). Needs network namespaces.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget, shuffled } from "./nemesis.ts";

export type PartitionMode = "isolate" | "split" | "one-way" | "bridge";

export class PartitionNemesis implements Nemesis {
  readonly name = "partition";

  async start(context: NemesisContext): Promise<string> {
    if (!context.network.canPartition) return "partitions unsupported on this network";
    const members = context.cluster.members;
    const modes: PartitionMode[] = ["isolate", "split", "one-way", "bridge"];
    const mode = modes[Math.floor(context.random() * modes.length)];
    const target = await pickTarget(context);
    if (!target) return "no running node";
    const names = (nodes: ChaosNode[]) => nodes.map((n) => n.name).join(",");
    if (mode === "bridge") {
      const others = shuffled(members.filter((n) => n !== target), context.random);
      const half = Math.floor(others.length / 2);
      const [left, right] = [others.slice(0, half), others.slice(half)];
      await cut(context, left, right, true);
      return `bridge ${target.name}: {${names(left)}} | {${names(right)}}`;
    }
    let minority: ChaosNode[] = [target];
    if (mode === "split") {
      minority = shuffled(members, context.random).slice(0, Math.floor(members.length / 2));
    }
    const majority = members.filter((n) => !minority.includes(n));
    await cut(context, minority, majority, mode !== "one-way");
    return mode === "one-way"
      ? `${target.name} cannot send to ${names(majority)} (it still receives)`
      : `${mode}: {${names(minority)}} | {${names(majority)}}`;
  }

  async stop(context: NemesisContext): Promise<string> {
    await context.network.heal();
    return "healed the network";
  }
}

/** Drops traffic from every node of `from` to every node of `to` (and back, `bothWays`). */
async function cut(
  context: NemesisContext,
  from: readonly ChaosNode[],
  to: readonly ChaosNode[],
  bothWays: boolean,
): Promise<void> {
  for (const a of from) {
    for (const b of to) {
      await context.network.drop(a.spec.slot, b.spec.slot);
      if (bothWays) await context.network.drop(b.spec.slot, a.spec.slot);
    }
  }
}
