/**
 * @module
 * Leadership transfer (`RAFT.TRANSFER_LEADER`) to a random other member, or to whoever the leader
 * picks: the old leader's pending requests must fail or complete, never both.
 */
import { type Nemesis, type NemesisContext } from "./nemesis.ts";

export class TransferNemesis implements Nemesis {
  readonly name = "transfer";

  async start(context: NemesisContext): Promise<string> {
    const leader = await context.cluster.leader();
    if (!leader) return "no leader to transfer from";
    const others = context.cluster.members.filter((n) => n !== leader && n.state === "running");
    const args = ["RAFT.TRANSFER_LEADER"];
    let to = "any";
    if (others.length > 0 && context.random() < 0.7) {
      const target = others[Math.floor(context.random() * others.length)];
      const id = await context.cluster.nodeId(target);
      if (id) {
        args.push(id);
        to = target.name;
      }
    }
    const reply = await context.cluster.callLeader(args, 5000);
    return `transfer ${leader.name} → ${to}: ${reply}`;
  }

  stop(): Promise<string> {
    return Promise.resolve("nothing to undo");
  }
}
