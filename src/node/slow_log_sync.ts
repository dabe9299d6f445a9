/**
 * @module
 * Whether a leader's own disk holds the cluster back. A leader answers a write once a quorum
 * holds it, itself included only after its own log sync; and its Raft loop takes the next batch
 * only after that sync. So a leader whose syncs take hundreds of milliseconds (a failing or
 * throttled disk) slows every write of the cluster to its disk's pace, while its heartbeats,
 * late as they are, keep the others from electing anyone. Followers' slow disks cost nothing:
 * the leader and the other followers make the quorum.
 *
 * The rule: --log-sync-slow-ms exceeded by `slowSyncsBeforeHandOffCount` of the leader's syncs
 * in a row, the last of them while another voter had already persisted what it synced (so that
 * voter's disk is the faster one, and the entries lose nothing), hands leadership to that
 * voter; at most once per two election timeouts. With every disk slow no voter is ahead, and
 * leadership stays.
 */
import type { Config } from "../config/config_schema.ts";

/** Slow syncs in a row before a hand-off: one slow sync is a hiccup, not a slow disk. */
export const slowSyncsBeforeHandOffCount = 3;

export class SlowLogSync {
  /** Syncs in a row, while leading, that took longer than --log-sync-slow-ms. */
  private slowInARow = 0;
  /** When a leader may next hand leadership over for a slow disk. */
  private nextHandOffMs = 0;

  constructor(private readonly config: Pick<Config, "logSyncSlowMs" | "electionTimeoutMs">) {}

  /**
   * After each of the leader's log syncs: how long it took, when it ended, and the voter that
   * already held the synced entries (0 if none). Returns why to hand leadership to that voter
   * now, or null.
   */
  record(syncMs: number, nowMs: number, aheadVoterId: number): string | null {
    const slowMs = this.config.logSyncSlowMs;
    if (slowMs === 0 || syncMs < slowMs) {
      this.slowInARow = 0;
      return null;
    }
    this.slowInARow++;
    if (this.slowInARow < slowSyncsBeforeHandOffCount) return null;
    if (aheadVoterId === 0 || nowMs < this.nextHandOffMs) return null;
    this.nextHandOffMs = nowMs + 2 * this.config.electionTimeoutMs;
    const count = this.slowInARow;
    this.slowInARow = 0;
    return `this node's last ${count} log syncs took over ${slowMs} ms ` +
      `(the last ${Math.round(syncMs)} ms) while node ${aheadVoterId} had the entries already`;
  }

  /** Not leading any more (or leading anew): earlier syncs say nothing of the next term's. */
  reset(): void {
    this.slowInARow = 0;
  }
}
