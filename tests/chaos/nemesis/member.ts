/**
 * @module
 * Membership churn: remove a node (the leader half of the time) through `RAFT.NODE REMOVE` on the
 * leader, then later start a fresh node (new directory, new address) and `RAFT.CLUSTER JOIN` it.
 * A removed node's id is never reused; a removed node must leave and not disturb the rest.
 */
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

export class MemberNemesis implements Nemesis {
  readonly name = "member";
  private removed = false;

  /** `membersTarget`: the cluster's size; below it (an add failed) this adds instead. */
  constructor(private readonly membersTarget = 3, private readonly membersMin = 3) {}

  async start(context: NemesisContext): Promise<string> {
    // A removal answered TIMEOUT may have committed after its stop() looked (L22).
    const gone = (await context.cluster.reconcileRemovals()).map((n) => n.name);
    const late = gone.length > 0
      ? `${gone.join(",")} was removed after all (unknown outcome); `
      : "";
    if (context.cluster.members.length < this.membersTarget) {
      return `${late}below ${this.membersTarget} members: ${await context.cluster.addFresh()}`;
    }
    if (context.cluster.members.length <= this.membersMin - 1) {
      return "too few members to remove one";
    }
    const target = await pickTarget(context);
    if (!target) return "no running node";
    const result = await context.cluster.remove(target);
    this.removed = result.startsWith("removed");
    return result;
  }

  async stop(context: NemesisContext): Promise<string> {
    if (!this.removed) {
      // A removal answered TIMEOUT may have committed since: then it counts as done.
      const gone = await context.cluster.reconcileRemovals();
      if (gone.length === 0) return "nothing removed, nothing to add";
      const names = gone.map((n) => n.name).join(",");
      return `${names} was removed after all (unknown outcome); ${await context.cluster
        .addFresh()}`;
    }
    this.removed = false;
    return await context.cluster.addFresh();
  }
}
