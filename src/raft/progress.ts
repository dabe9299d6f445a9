/**
 * The leader's view of one follower: how much of the log it holds (`match`),
 * what to send next (`next`) and how: probe (one message at a time until the
 * match point is found), replicate (pipelined, bounded by {@link Inflights}) or
 * snapshot (InstallSnapshot chunks in flight).
 *
 * @module
 */

import { Inflights } from "./inflights.ts";
import type { SnapshotMeta } from "./types.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

export interface SnapshotTransfer {
  readonly meta: SnapshotMeta;
  /** Offset of the next chunk to send. */
  nextOffsetBytes: number;
  /** Highest offset the follower confirmed. */
  ackedOffsetBytes: number;
  inflightChunksCount: number;
  /** Ticks since the follower last answered a chunk; rewinds the transfer when too high. */
  idleTicks: number;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state: a probe is in flight, wait for an answer (or a heartbeat response). */
  probeSent = false;
  /** The leader's tick count when this follower last answered, or joined mid-term (-1: not yet). */
  lastHeardTick = -1;
  /** Ticks since an append was last acknowledged while appends are in flight (loss detection). */
  ticksSinceAck = 0;
  /** Highest commit index sent to this follower. */
  sentCommit = 0;
  /** Highest read round this follower acknowledged. */
  readSeqAcked = 0;
  snapshot: SnapshotTransfer | undefined = undefined;
  /**
   * Replicate state, lost-append detection: read sequence of the oldest heartbeat sent
   * while appends were unacknowledged (0 = none pending) and the last index sent to the
   * follower before it. A response to that heartbeat or a later one reporting a shorter
   * log means appends sent before it were lost (the transport is FIFO per link).
   */
  heartbeatCheckSeq = 0;
  heartbeatCheckIndex = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightCount: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightCount, maxInflightBytes);
  }

  becomeProbe(): void {
    this.heartbeatCheckSeq = 0;
    this.state = "probe";
    this.probeSent = false;
    this.snapshot = undefined;
    this.inflights.reset();
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.heartbeatCheckSeq = 0;
    this.state = "replicate";
    this.probeSent = false;
    this.snapshot = undefined;
    this.inflights.reset();
    this.next = this.match + 1;
  }

  becomeSnapshot(meta: SnapshotMeta): void {
    this.heartbeatCheckSeq = 0;
    this.state = "snapshot";
    this.probeSent = false;
    this.inflights.reset();
    this.snapshot = {
      meta,
      nextOffsetBytes: 0,
      ackedOffsetBytes: 0,
      inflightChunksCount: 0,
      idleTicks: 0,
    };
  }

  /**
   * Replicate state: the follower's log ends at `followerLast`, short of entries already
   * sent (lost in transit). Resend from there at once, pipelined again within the
   * flow-control window. A tail of the follower's log that does not match ours is found
   * the usual way: the resend is rejected and the follower drops to probe.
   */
  resendAfter(followerLast: number): void {
    this.inflights.reset();
    this.next = Math.max(this.match, followerLast) + 1;
    this.ticksSinceAck = 0;
    this.heartbeatCheckSeq = 0;
  }

  /** Records a successful append up to `index`; returns true if `match` moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /** Handles a rejection of `rejectedIndex`; returns false when the rejection is stale. */
  maybeDecrTo(rejectedIndex: number, nextHint: number): boolean {
    if (this.state === "replicate") {
      if (rejectedIndex <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(Math.min(rejectedIndex, nextHint), this.match + 1);
      return true;
    }
    if (this.next - 1 !== rejectedIndex) return false;
    this.next = Math.max(Math.min(rejectedIndex, nextHint), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
