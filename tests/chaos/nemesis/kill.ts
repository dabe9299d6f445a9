/**
 * @module
 * kill -9 a node (the leader half of the time) and restart it later on the same directory. Its
 * redis child is left running, as after a real crash; the restarted node must replace it.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

export class KillNemesis implements Nemesis {
  readonly name = "kill";
  private victim: ChaosNode | null = null;

  async start(context: NemesisContext): Promise<string> {
    const target = await pickTarget(context);
    if (!target) return "no running node";
    await target.kill();
    this.victim = target;
    return `killed ${target.name} (${target.addr})`;
  }

  async stop(): Promise<string> {
    const victim = this.victim;
    this.victim = null;
    if (!victim || victim.state !== "killed") return "nothing to restart";
    try {
      await victim.spawn();
      return `restarted ${victim.name}`;
    } catch (error) {
      return `restart of ${victim.name} failed: ${(error as Error).message.split("\n")[0]}`;
    }
  }
}
