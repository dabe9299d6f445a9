/**
 * @module
 * WAIT numreplicas timeout on the leader: each waiting client is answered once enough other
 * members acknowledged (persisted) its last write, at its deadline, or when this node stops
 * leading, always with the count last seen, as Redis's WAIT answers with the replicas that
 * acknowledged.
 */

export interface ReplicaWait {
  /** CLIENT ID of the connection waiting. */
  clientId: number;
  /** The log index the client's writes reach (its last proposed write). */
  targetIndex: number;
  numReplicas: number;
  deadlineMs: number;
  answer(count: number): void;
}

/** Counts the other members holding the log up to an index. */
export type ReplicaCounter = (index: number) => number;

export class ReplicaWaits {
  private waits: { wait: ReplicaWait; lastCount: number }[] = [];

  get size(): number {
    return this.waits.length;
  }

  /** Answer at once if already satisfied; otherwise wait. */
  add(wait: ReplicaWait, count: ReplicaCounter, nowMs: number): void {
    const lastCount = count(wait.targetIndex);
    if (lastCount >= wait.numReplicas || nowMs >= wait.deadlineMs) return wait.answer(lastCount);
    this.waits.push({ wait, lastCount });
  }

  /** Answer the waits now satisfied or past their deadline. */
  check(count: ReplicaCounter, nowMs: number): void {
    if (this.waits.length === 0) return;
    // An answer may let the same client's next WAIT in (add() during this loop): swap first.
    const waits = this.waits;
    this.waits = [];
    for (const entry of waits) {
      entry.lastCount = count(entry.wait.targetIndex);
      const done = entry.lastCount >= entry.wait.numReplicas || nowMs >= entry.wait.deadlineMs;
      if (done) entry.wait.answer(entry.lastCount);
      else this.waits.push(entry);
    }
  }

  /** The client left: nothing is left to answer, and its wait would hold the connection. */
  dropClient(clientId: number): void {
    if (this.waits.some((entry) => entry.wait.clientId === clientId)) {
      this.waits = this.waits.filter((entry) => entry.wait.clientId !== clientId);
    }
  }

  /** Leadership lost: answer everyone with the count last seen (it stays true). */
  answerAll(): void {
    const waits = this.waits;
    this.waits = [];
    for (const entry of waits) entry.wait.answer(entry.lastCount);
  }
}
