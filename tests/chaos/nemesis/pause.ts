/**
 * @module
 * SIGSTOP a node's whole process group (node and redis child), the leader half of the time, and
 * SIGCONT it later: a long GC pause or a frozen VM. A paused leader wakes up believing it leads.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

export class PauseNemesis implements Nemesis {
  readonly name = "pause";
  private victim: ChaosNode | null = null;

  async start(context: NemesisContext): Promise<string> {
    const target = await pickTarget(context);
    if (!target) return "no running node";
    target.pause();
    this.victim = target;
    return `paused ${target.name}`;
  }

  stop(): Promise<string> {
    const victim = this.victim;
    this.victim = null;
    if (!victim) return Promise.resolve("nothing to resume");
    victim.resume();
    return Promise.resolve(`resumed ${victim.name}`);
  }
}
