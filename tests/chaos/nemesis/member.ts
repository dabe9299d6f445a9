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
    const late = await lateRemovals(context);
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
      const late = await lateRemovals(context);
      if (late === "") return "nothing removed, nothing to add";
      return `${late}${await context.cluster.addFresh()}`;
    }
    this.removed = false;
    return await context.cluster.addFresh();
  }
}

/** Completes removals answered with an unknown outcome that have committed; says which. */
async function lateRemovals(context: NemesisContext): Promise<string> {
  const gone = await context.cluster.reconcileRemovals();
  if (gone.length === 0) return "";
  return `${gone.map((n) => n.name).join(",")} was removed after all (unknown outcome); `;
}
