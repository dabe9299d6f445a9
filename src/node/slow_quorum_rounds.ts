/**
 * @module
 * Whether a leader's own link holds the cluster back. Every write waits for a quorum's answer, so
 * a leader whose link is congested or lossy (its queue full, its packets dropped and resent)
 * slows every write of the cluster to that link's pace, and its clients' requests and replies
 * cross it too. Its heartbeats, late as they are, still arrive, so the others elect no one. A
 * follower's slow link costs the others nothing: the leader and the other followers make the
 * quorum.
 *
 * The measure is the age of the newest heartbeat round a quorum answered
 * (`RaftNode.quorumRoundAgeTicks`): within a heartbeat interval plus a round trip while the
 * links are healthy. Past a heartbeat interval plus --link-slow-ms for
 * `slowRoundsBeforeHandOffCount` heartbeat intervals on end, the leader hands leadership to a
 * voter that holds everything committed, or (with none, or when such a transfer just failed)
 * steps down and starts no election for `slowLinkCampaignHoldElectionTimeouts` (ClusterNode); at
 * most once per two election timeouts. A leader cannot tell its own slow link from every
 * follower's; one slow link is the likelier fault, and with every link slow a hand-off costs a
 * short wait and moves nothing back sooner than that cooldown.
 */
import type { Config } from "../config/config_schema.ts";

/** Heartbeat intervals a quorum's answers must stay late before a hand-off: one is a hiccup. */
export const slowRoundsBeforeHandOffCount = 3;
/**
 * Election timeouts a leader that stepped down for its slow link starts no election of its own:
 * long enough for what it sent before (queued, or resent by TCP) to drain, so that the others
 * stop hearing it and elect one of themselves.
 */
export const slowLinkCampaignHoldElectionTimeouts = 4;
/**
 * Election timeouts after a slow-link transfer during which another slow-link hand-off steps
 * down instead: that transfer did not move leadership, its target could not catch up.
 */
export const slowLinkTransferRetryElectionTimeouts = 4;

/** How a leader behind a slow link leaves: a transfer to `targetId`, or stepping down. */
export type SlowLinkExit =
  | { kind: "transfer"; targetId: number }
  | { kind: "step-down"; why: string };

export class SlowQuorumRounds {
  /** When the leader first saw its newest answered round too old, in this run of such ticks. */
  private slowSinceMs: number | undefined = undefined;
  /** When a leader may next hand leadership over for a slow link. */
  private nextHandOffMs = 0;
  /** When this node last handed leadership over for a slow link by a transfer. */
  private lastTransferAtMs = -Infinity;

  constructor(
    private readonly config: Pick<
      Config,
      "linkSlowMs" | "heartbeatIntervalMs" | "electionTimeoutMs"
    >,
  ) {}

  /**
   * On each tick: the age of the newest round a quorum answered (ms; Infinity for none yet),
   * the time, and whether this node leads. Returns why to hand leadership over now, or null.
   */
  check(roundAgeMs: number, nowMs: number, leading: boolean): string | null {
    const slowMs = this.config.linkSlowMs;
    const heartbeatMs = this.config.heartbeatIntervalMs;
    if (!leading || slowMs === 0 || roundAgeMs <= heartbeatMs + slowMs) {
      this.slowSinceMs = undefined;
      return null;
    }
    this.slowSinceMs ??= nowMs;
    const slowForMs = nowMs - this.slowSinceMs;
    if (slowForMs < slowRoundsBeforeHandOffCount * heartbeatMs || nowMs < this.nextHandOffMs) {
      return null;
    }
    this.nextHandOffMs = nowMs + 2 * this.config.electionTimeoutMs;
    this.slowSinceMs = undefined;
    const age = Number.isFinite(roundAgeMs) ? `${Math.round(roundAgeMs)} ms` : "none answered";
    const limitMs = heartbeatMs + slowMs;
    return `the newest heartbeat round a quorum answered was older than ${limitMs} ms for ` +
      `${Math.round(slowForMs)} ms on end (now ${age}): this node's link is slow, lossy or cut`;
  }

  /**
   * Once check() said to hand over: a transfer to the voter that holds everything committed
   * (`caughtUpVoterId`; 0 for none), which then needs only what is in flight to take over; or,
   * with none, or when the last transfer (within `slowLinkTransferRetryElectionTimeouts`) did
   * not move leadership (its target could not catch up over the slow link), stepping down.
   */
  exit(caughtUpVoterId: number, nowMs: number): SlowLinkExit {
    const retryAfterMs = slowLinkTransferRetryElectionTimeouts * this.config.electionTimeoutMs;
    if (caughtUpVoterId === 0) {
      return { kind: "step-down", why: "no other node holds what is committed" };
    }
    if (nowMs - this.lastTransferAtMs < retryAfterMs) {
      return { kind: "step-down", why: "the last transfer did not move leadership" };
    }
    this.lastTransferAtMs = nowMs;
    return { kind: "transfer", targetId: caughtUpVoterId };
  }
}
