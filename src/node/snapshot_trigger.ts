/**
 * @module
 * When a node starts a snapshot. Every node holds the same log, so with one fixed limit they all
 * start at about the same entry, and each one's RDB write then slows its own log syncs at the
 * same moment: a commit waits on the slowest two of three. Each node instead starts once the
 * entries since its last snapshot pass a point drawn at random between `(1 - spread)` and all of
 * the limit, drawn again for every snapshot (hashicorp/raft staggers its snapshot interval the
 * same way), so that usually one node compacts at a time while the other two commit.
 */

export class SnapshotTrigger {
  /** Where in the spread this cycle's point lies: 0 is the limit itself, 1 its lowest point. */
  private draw: number;

  constructor(private readonly random: () => number = Math.random) {
    this.draw = random();
  }

  /**
   * Whether `bytesSinceSnapshot` of entries call for a snapshot under a limit of `maxBytes`
   * (0: never) spread by `spreadPercent` below it.
   */
  due(bytesSinceSnapshot: number, maxBytes: number, spreadPercent: number): boolean {
    if (maxBytes === 0) return false;
    return bytesSinceSnapshot > this.thresholdBytes(maxBytes, spreadPercent);
  }

  /** The point of this cycle under a limit of `maxBytes`. */
  thresholdBytes(maxBytes: number, spreadPercent: number): number {
    return Math.floor(maxBytes * (1 - (spreadPercent / 100) * this.draw));
  }

  /** A snapshot started: the next one gets a point of its own. */
  redraw(): void {
    this.draw = this.random();
  }
}
