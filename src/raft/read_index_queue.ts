/**
 * ReadIndex bookkeeping on the leader. Reads are grouped into heartbeat rounds
 * numbered by a read sequence: a read registered while round `s` is the latest sent
 * waits for round `s + 1`; once a quorum echoes a sequence >= that round, every read
 * of the round is confirmed at once (batching). Reads arriving before the leader has
 * committed an entry of its term wait in `notReady` until it has.
 *
 * @module
 */

const maxRoundsRemembered = 1024;
/** Confirmed reads kept at the queue's head before it is copied down. */
const compactAfterReads = 1024;

export interface PendingRead {
  readonly requestId: number;
  readonly index: number;
  readonly seq: number;
}

export class ReadIndexQueue {
  /** Reads waiting for a quorum round, in sequence order. */
  private pending: PendingRead[] = [];
  private pendingHead = 0;
  /** Reads waiting for the leader's first commit in its term. */
  notReady: number[] = [];
  /** Sequence of the latest round sent. */
  lastSentSeq = 0;
  /** Highest sequence confirmed by a quorum. */
  confirmedSeq = 0;
  /** Rounds sent and not yet confirmed: [seq, tick] pairs, in order (for leases). */
  private roundsSent: number[] = [];

  get size(): number {
    return this.pending.length - this.pendingHead + this.notReady.length;
  }

  /** True when some read waits for a round that has not been sent yet. */
  needsRound(): boolean {
    const n = this.pending.length;
    return n > this.pendingHead && this.pending[n - 1].seq > this.lastSentSeq;
  }

  /** Rounds sent and not confirmed yet. */
  roundsInFlight(): number {
    return this.lastSentSeq - this.confirmedSeq;
  }

  /** Tick at which the oldest unconfirmed round was sent, or -1 if none is in flight. */
  oldestRoundSentTick(): number {
    return this.roundsSent.length > 0 ? this.roundsSent[1] : -1;
  }

  add(requestId: number, index: number): void {
    this.pending.push({ requestId, index, seq: this.lastSentSeq + 1 });
  }

  /** Starts a new round at `tick`; returns its sequence. */
  startRound(tick: number): number {
    this.lastSentSeq++;
    this.roundsSent.push(this.lastSentSeq, tick);
    // Bounded: forgetting the oldest unconfirmed rounds only forgoes a lease extension.
    if (this.roundsSent.length > 2 * maxRoundsRemembered) this.roundsSent.splice(0, 2);
    return this.lastSentSeq;
  }

  /**
   * A quorum confirmed rounds up to `seq`. Returns the confirmed reads and the tick at
   * which the confirmed round was sent (the lease start), or -1 if none moved.
   */
  confirm(seq: number): { reads: PendingRead[]; roundSentTick: number } {
    if (seq <= this.confirmedSeq) return { reads: [], roundSentTick: -1 };
    this.confirmedSeq = seq;
    let roundSentTick = -1;
    let drop = 0;
    while (drop < this.roundsSent.length && this.roundsSent[drop] <= seq) {
      roundSentTick = this.roundsSent[drop + 1];
      drop += 2;
    }
    this.roundsSent.splice(0, drop);
    const from = this.pendingHead;
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead].seq <= seq) {
      this.pendingHead++;
    }
    const reads = this.pending.slice(from, this.pendingHead);
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    } else if (this.pendingHead > compactAfterReads && this.pendingHead * 2 > this.pending.length) {
      // Under steady load a newer read is always waiting, so the queue never empties by itself.
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    return { reads, roundSentTick };
  }

  /** Removes and returns every waiting request id (leadership lost). */
  drain(): number[] {
    const ids = this.notReady;
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      ids.push(this.pending[i].requestId);
    }
    this.pending = [];
    this.pendingHead = 0;
    this.notReady = [];
    this.roundsSent = [];
    return ids;
  }
}
