/**
 * @module
 * Whether the node's redis child keeps up with what the node sends it: past
 * --apply-queue-max-bytes unread, a leader refuses new writes and a follower drops new entries
 * from the leader; a leader whose child stays behind, or answers nothing, for
 * --child-stall-timeout-ms hands leadership over.
 */
import type { Config } from "../config/config_schema.ts";
import type { Logger } from "./logger.ts";

/** What the backlog is measured on: the node's ordered connection to its child. */
export interface ChildLink {
  /** Bytes sent to the child that it has not read yet. */
  readonly unwrittenBytes: number;
  /** How long the oldest unanswered command has waited (0 with none). */
  unansweredForMs(nowMs: number): number;
}

export class ChildBacklog {
  /** New entries from the leader are dropped while the child falls behind (followerRefuses). */
  private refusingEntries = false;
  /** Since when the leader's child has been more than --apply-queue-max-bytes behind (or -1). */
  private behindSinceMs = -1;
  /** When a leader whose child cannot keep up may next try to hand leadership over. */
  private nextHandOffMs = 0;

  constructor(
    private readonly link: () => ChildLink,
    private readonly config: Pick<
      Config,
      "applyQueueMaxBytes" | "childStallTimeoutMs" | "electionTimeoutMs"
    >,
    private readonly log: Logger,
  ) {}

  /** The child has not read --apply-queue-max-bytes of what was sent to it. */
  behind(): boolean {
    return this.link().unwrittenBytes > this.config.applyQueueMaxBytes;
  }

  /** A follower's `behind`, said in the log once a spell. */
  followerRefuses(): boolean {
    const behind = this.behind();
    if (behind !== this.refusingEntries) {
      this.refusingEntries = behind;
      if (behind) {
        this.log.warning(
          `the redis child is more than ${this.config.applyQueueMaxBytes} bytes behind: ` +
            "taking no new entries from the leader until it catches up",
        );
      } else this.log.notice("the redis child caught up: taking entries again");
    }
    return behind;
  }

  /**
   * On every tick: why a leader should hand leadership over now, or null. A leader whose child
   * has answered nothing, or stayed behind, for --child-stall-timeout-ms (stopped, or stuck)
   * cannot serve while the others could; it tries once per two election timeouts while the child
   * stays so. A backlog alone (a burst of large writes) passes by itself.
   */
  handOffReason(nowMs: number, leading: boolean): string | null {
    const behind = leading && this.behind();
    if (!behind) this.behindSinceMs = -1;
    else if (this.behindSinceMs < 0) this.behindSinceMs = nowMs;
    if (!leading || nowMs < this.nextHandOffMs) return null;
    const unansweredMs = this.link().unansweredForMs(nowMs);
    const behindMs = behind ? nowMs - this.behindSinceMs : 0;
    if (Math.max(unansweredMs, behindMs) < this.config.childStallTimeoutMs) return null;
    this.nextHandOffMs = nowMs + 2 * this.config.electionTimeoutMs;
    return unansweredMs >= behindMs
      ? `the redis child has answered nothing for ${Math.round(unansweredMs)} ms`
      : `the redis child has been more than ${this.config.applyQueueMaxBytes} bytes behind ` +
        `for ${Math.round(behindMs)} ms`;
  }
}
