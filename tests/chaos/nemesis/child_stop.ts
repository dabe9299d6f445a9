/**
 * @module
 * SIGSTOP a node's redis child alone (the leader's half of the time), leaving the node running:
 * a child stuck in a long command, or a gray failure. Clients of that node get `-TIMEOUT`, a
 * follower stops taking entries once its child is behind, a leader hands leadership over after
 * --child-stall-timeout-ms. SIGCONT at the heal.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

export class ChildStopNemesis implements Nemesis {
  readonly name = "childstop";
  private victim: ChaosNode | null = null;

  async start(context: NemesisContext): Promise<string> {
    const target = await pickTarget(context);
    if (!target) return "no running node";
    if (!target.stopChild()) return `${target.name} has no child to stop`;
    this.victim = target;
    return `stopped ${target.name}'s redis child`;
  }

  stop(): Promise<string> {
    const victim = this.victim;
    this.victim = null;
    if (!victim) return Promise.resolve("nothing to continue");
    victim.continueChild();
    return Promise.resolve(`continued ${victim.name}'s redis child`);
  }
}
