/**
 * Safety properties checked while the simulation runs: Election Safety, Log
 * Matching, Leader Completeness, State Machine Safety, no committed entry lost,
 * and linearizable reads. A violation throws {@link SafetyViolation}.
 *
 * @module
 */

import type { Entry, NodeId, RaftNode } from "../../src/raft/mod.ts";

export class SafetyViolation extends Error {
  constructor(readonly property: string, detail: string) {
    super(`${property}: ${detail}`);
    this.name = "SafetyViolation";
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Term of every index known committed (by any node's commit index). */
  private readonly committedTerms: number[] = [0];
  /** Entry applied at every index (the one state machine history). */
  private readonly appliedEntries: Entry[] = [];
  /** Highest log index of a write acknowledged to a client. */
  maxAckedWriteIndex = 0;
  /** Highest state (applied index) returned by a completed read. */
  maxReadResultIndex = 0;
  readsChecked = 0;
  writesAcked = 0;

  maxCommittedIndex(): number {
    return this.committedTerms.length - 1;
  }

  onLeader(id: NodeId, term: number, raft: RaftNode): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== id) {
      throw new SafetyViolation("Election Safety", `nodes ${existing} and ${id} lead term ${term}`);
    }
    this.leaderOfTerm.set(term, id);
    for (let i = 1; i < this.committedTerms.length; i++) {
      const t = raft.logTerm(i);
      if (t === -1 && i <= raft.status().snapshotIndex) continue;
      if (t !== this.committedTerms[i]) {
        throw new SafetyViolation(
          "Leader Completeness",
          `leader ${id} of term ${term} has term ${t} at committed index ${i} (want ${
            this.committedTerms[i]
          })`,
        );
      }
    }
  }

  onCommitted(id: NodeId, index: number, term: number): void {
    if (index < this.committedTerms.length) {
      if (this.committedTerms[index] !== term) {
        throw new SafetyViolation(
          "Committed entry lost",
          `node ${id} committed term ${term} at ${index}, earlier ${this.committedTerms[index]}`,
        );
      }
      return;
    }
    if (index !== this.committedTerms.length) {
      throw new SafetyViolation("Commit gap", `node ${id} reported commit ${index} with a gap`);
    }
    this.committedTerms.push(term);
  }

  onApply(id: NodeId, entry: Entry): void {
    const known = this.appliedEntries[entry.index];
    if (known === undefined) {
      this.appliedEntries[entry.index] = entry;
      return;
    }
    if (
      known.term !== entry.term || known.type !== entry.type || !bytesEqual(known.data, entry.data)
    ) {
      throw new SafetyViolation(
        "State Machine Safety",
        `node ${id} applied ${entry.index}/${entry.term} but another node applied ${known.index}/${known.term}`,
      );
    }
  }

  /** Normal-entry values of the applied history up to `index` (where known). */
  appliedEntry(index: number): Entry | undefined {
    return this.appliedEntries[index];
  }

  onWriteAcked(index: number): void {
    this.writesAcked++;
    if (index > this.maxAckedWriteIndex) this.maxAckedWriteIndex = index;
  }

  /**
   * A read invoked when (acked, read) were the maxima completes at read index `index`
   * with state `resultIndex`.
   */
  onReadCompleted(
    id: NodeId,
    requestId: number,
    index: number,
    resultIndex: number,
    ackedAtInvoke: number,
    readAtInvoke: number,
  ): void {
    this.readsChecked++;
    if (index < ackedAtInvoke) {
      throw new SafetyViolation(
        "Linearizable read",
        `read ${requestId} on ${id} at index ${index} misses a write acked at ${ackedAtInvoke}`,
      );
    }
    if (index < readAtInvoke) {
      throw new SafetyViolation(
        "Linearizable read",
        `read ${requestId} on ${id} at index ${index} is older than a completed read at ${readAtInvoke}`,
      );
    }
    if (resultIndex > this.maxReadResultIndex) this.maxReadResultIndex = resultIndex;
  }

  /** Log Matching between two nodes' in-memory logs. */
  checkLogMatching(a: RaftNode, b: RaftNode): void {
    const sa = a.status();
    const sb = b.status();
    const low = Math.max(sa.firstIndex, sb.firstIndex);
    let i = Math.min(sa.lastIndex, sb.lastIndex);
    while (i >= low && a.logTerm(i) !== b.logTerm(i)) i--;
    for (let j = i - 1; j >= low; j--) {
      if (a.logTerm(j) !== b.logTerm(j)) {
        throw new SafetyViolation(
          "Log Matching",
          `nodes ${a.id} and ${b.id} agree at ${i} but differ at ${j}`,
        );
      }
    }
  }
}
