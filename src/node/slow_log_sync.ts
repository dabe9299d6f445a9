/**
 * @module
 * Whether a node's own disk holds the cluster back. A leader answers a write once a quorum holds
 * it, itself included only after its own log sync, and its Raft loop takes the next batch only
 * after that sync: a leader whose syncs take hundreds of milliseconds (a failing or throttled
 * disk) slows every write of the cluster to its disk's pace. Its heartbeats go out during a sync
 * (ClusterNode), so the others elect no one. A follower's slow disk costs the others nothing:
 * the leader and the other followers make the quorum.
 *
 * The rule: --log-sync-slow-ms exceeded by `slowSyncsBeforeHandOffCount` of the leader's syncs
 * in a row (or by fewer that took an election timeout together), the last of them while another
 * voter had already persisted what it synced (so that voter's disk is the faster one, and the
 * entries lose nothing), hands leadership to that voter; at most once per two election
 * timeouts. With every disk slow no voter is ahead, and leadership stays. A sync that outlasts an
 * election timeout ends its leader's heartbeats (ClusterNode): a disk that all but hangs is a
 * dead leader, and the others elect another. A follower (which syncs on its event loop, cheaper
 * for a healthy disk) syncs on the thread pool while its disk has been slow lately, so that it
 * keeps answering.
 */
import type { Config } from "../config/config_schema.ts";

/** Slow syncs in a row before a hand-off: one slow sync is a hiccup, not a slow disk. */
export const slowSyncsBeforeHandOffCount = 3;
/**
 * How long a slow sync marks the disk as slow. The kernel's throttles and failing disks let
 * some syncs through at full speed between slow ones; one fast sync proves little.
 */
export const slowDiskMemoryMs = 10_000;

export class SlowLogSync {
  /** Syncs in a row, while leading, that took longer than --log-sync-slow-ms. */
  private slowInARow = 0;
  /** The time those syncs took together. */
  private slowStreakMs = 0;
  /** When a leader may next hand leadership over for a slow disk. */
  private nextHandOffMs = 0;
  /** When the latest slow sync ended (any role), or -Infinity. */
  private lastSlowAtMs = -Infinity;

  constructor(private readonly config: Pick<Config, "logSyncSlowMs" | "electionTimeoutMs">) {}

  /** A sync took longer than --log-sync-slow-ms within the last `slowDiskMemoryMs`. */
  recentlySlow(nowMs: number): boolean {
    return nowMs - this.lastSlowAtMs < slowDiskMemoryMs;
  }

  /**
   * After each log sync: how long it took, when it ended, and on a leader the voter that
   * already held the synced entries (0 if none; pass 0 on other roles). Returns why to hand
   * leadership to that voter now, or null.
   */
  record(syncMs: number, nowMs: number, leading: boolean, aheadVoterId: number): string | null {
    const slowMs = this.config.logSyncSlowMs;
    if (slowMs === 0 || syncMs < slowMs) {
      this.reset();
      return null;
    }
    this.lastSlowAtMs = nowMs;
    if (!leading) return null;
    this.slowInARow++;
    this.slowStreakMs += syncMs;
    const enough = this.slowInARow >= slowSyncsBeforeHandOffCount ||
      this.slowStreakMs >= this.config.electionTimeoutMs;
    if (!enough || aheadVoterId === 0 || nowMs < this.nextHandOffMs) return null;
    this.nextHandOffMs = nowMs + 2 * this.config.electionTimeoutMs;
    const count = this.slowInARow;
    this.reset();
    return `this node's log syncs took over ${slowMs} ms ${count} time(s) in a row ` +
      `(the last ${Math.round(syncMs)} ms) while node ${aheadVoterId} had the entries already`;
  }

  /** Not leading any more (or leading anew): earlier syncs say nothing of the next term's. */
  reset(): void {
    this.slowInARow = 0;
    this.slowStreakMs = 0;
  }
}
