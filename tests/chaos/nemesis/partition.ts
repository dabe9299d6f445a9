/**
 * @module
 * Network partitions between nodes (clients still reach every node, as in Jepsen): isolate one
 * node (the leader half of the time), split into a majority and a minority, cut one node's
 * outgoing traffic only (asymmetric: it still hears the others), or a bridge (the others split
 * in two halves that cannot reach each other, one node reaching both: reachability that is not
 * transitive). Needs network namespaces.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

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
      const others = members.filter((n) => n !== target).sort(() => context.random() - 0.5);
      const half = Math.floor(others.length / 2);
      const [left, right] = [others.slice(0, half), others.slice(half)];
      for (const a of left) {
        for (const b of right) {
          await context.network.drop(a.spec.slot, b.spec.slot);
          await context.network.drop(b.spec.slot, a.spec.slot);
        }
      }
      return `bridge ${target.name}: {${names(left)}} | {${names(right)}}`;
    }
    let minority: ChaosNode[] = [target];
    if (mode === "split") {
      const shuffled = [...members].sort(() => context.random() - 0.5);
      minority = shuffled.slice(0, Math.floor(members.length / 2));
    }
    const majority = members.filter((n) => !minority.includes(n));
    for (const a of minority) {
      for (const b of majority) {
        await context.network.drop(a.spec.slot, b.spec.slot);
        if (mode !== "one-way") await context.network.drop(b.spec.slot, a.spec.slot);
      }
    }
    return mode === "one-way"
      ? `${target.name} cannot send to ${names(majority)} (it still receives)`
      : `${mode}: {${names(minority)}} | {${names(majority)}}`;
  }

  async stop(context: NemesisContext): Promise<string> {
    await context.network.heal();
    return "healed the network";
  }
}
