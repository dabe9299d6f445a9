/**
 * @module
 * Throttle one node's disk (the leader's half of the time) to a few writes a second, by the
 * kernel's block I/O throttle (tests/helpers/slow_disk.ts): a failing or starved disk, the
 * node itself running on. A follower's slow disk must cost the others nothing; a leader hands
 * leadership to a follower after --log-sync-slow-ms is passed three syncs in a row. Lifted at
 * the heal. Needs root and cgroup v1 blkio; elsewhere it says so and does nothing.
 */
import type { ChaosNode } from "../chaos_node.ts";
import { SlowDisk, slowDiskAvailable } from "../../helpers/slow_disk.ts";
import { addCleanup } from "../cleanup.ts";
import { type Nemesis, type NemesisContext, pickTarget } from "./nemesis.ts";

/** Disk writes a second the throttle allows (a sync takes two or three of them). */
const writeIopsChoices = [2, 5, 20];

export class SlowDiskNemesis implements Nemesis {
  readonly name = "slowdisk";
  private throttle: { disk: SlowDisk; node: ChaosNode } | null = null;

  constructor() {
    // An interrupted run leaves no throttle group behind.
    addCleanup(async () => void await this.stop());
  }

  async start(context: NemesisContext): Promise<string> {
    if (!slowDiskAvailable()) return "no block I/O throttle here";
    const target = await pickTarget(context);
    const pid = target?.pid;
    if (!target || pid === undefined) return "no running node";
    const writeIops = writeIopsChoices[Math.floor(context.random() * writeIopsChoices.length)];
    const disk = SlowDisk.create(target.spec.dir, writeIops);
    disk.slow(pid);
    this.throttle = { disk, node: target };
    return `throttled ${target.name}'s disk to ${writeIops} writes a second`;
  }

  stop(): Promise<string> {
    const throttle = this.throttle;
    this.throttle = null;
    if (!throttle) return Promise.resolve("no disk to restore");
    throttle.disk.remove();
    return Promise.resolve(`restored ${throttle.node.name}'s disk`);
  }
}
