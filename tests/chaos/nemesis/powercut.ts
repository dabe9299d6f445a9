/**
 * @module
 * A power cut: one node (the leader half of the time), or every member at once, dies with its
 * redis child and loses what its data directory had not made durable: writes not synced, and
 * creates, renames and removals whose directory was not synced (tests/helpers/power_loss.c,
 * preloaded into every node of a run with this nemesis, journals them). The
 * power comes back at `stop`: the nodes restart from what their disks kept. A kill -9 alone
 * keeps the page cache; this checks that nothing acknowledged was only there.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { cutPower } from "../../helpers/power_loss.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

export class PowerCutNemesis implements Nemesis {
  readonly name = "powercut";
  private victims: ChaosNode[] = [];

  async start(context: NemesisContext): Promise<string> {
    const whole = context.random() < 0.5;
    const target = whole ? null : await pickTarget(context);
    const victims = whole
      ? context.cluster.members.filter((n) => n.state === "running" || n.state === "paused")
      : target
      ? [target]
      : [];
    if (victims.length === 0) return "no running node";
    // Restarted at `stop` whatever happens below.
    this.victims = victims;
    await Promise.all(victims.map((node) => node.kill()));
    await Promise.all(victims.map((node) => node.killStaleChild()));
    // Members already down lose their unsynced writes too; they restart with their own fault.
    const down = whole ? context.cluster.members.filter((n) => !victims.includes(n)) : [];
    let lostBytes = 0;
    let undoneChanges = 0;
    for (const node of [...victims, ...down]) {
      if (!node.spec.powerLoss) continue;
      // The last cut's journal stays next to the node's log, for a node that fails to restart.
      const cut = await cutPower(
        node.spec.powerLoss.journal,
        node.spec.dir,
        `${node.spec.logPath}.journal`,
      );
      lostBytes += cut.lostBytes;
      undoneChanges += cut.undoneChanges;
    }
    const names = victims.map((node) => node.name).join(",");
    const what = whole ? `every member (${names})` : names;
    return `power cut on ${what}: ${lostBytes} unsynced bytes and ${undoneChanges} directory changes lost`;
  }

  async stop(): Promise<string> {
    const victims = this.victims.filter((node) => node.state === "killed");
    this.victims = [];
    if (victims.length === 0) return "nothing to restart";
    const failures = (await Promise.allSettled(victims.map((node) => node.spawn())))
      .flatMap((result, i) =>
        result.status === "rejected"
          ? [`${victims[i].name}: ${(result.reason as Error).message.split("\n")[0]}`]
          : []
      );
    const names = victims.map((node) => node.name).join(",");
    return failures.length === 0
      ? `power back on ${names}`
      : `power back on ${names}; restart failed: ${failures.join("; ")}`;
  }
}
