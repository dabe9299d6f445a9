/**
 * The in-memory Raft log: entries after the last compaction point, the commit and
 * apply cursors, and which entries the caller still has to persist.
 *
 * Indexes: `offsetIndex` is the index just before the first held entry (0, or a
 * compaction point whose term is `offsetTerm`). Entries live in a compact store at
 * position `index - offsetIndex - 1`.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { EntryStore } from "./entry_store.ts";
import type { Entry, SnapshotMeta } from "./types.ts";

export class RaftLog {
  private entries = new EntryStore();
  offsetIndex = 0;
  offsetTerm = 0;
  committed = 0;
  /** Last index handed to the caller for applying (applied once advanced). */
  applied = 0;
  /** Last index known durable and still part of the log. */
  stableIndex = 0;
  /** First index not yet handed to the caller in a Ready. */
  unsentIndex = 1;
  /** Last index handed out in the outstanding Ready, lowered when truncated meanwhile. */
  private inProgressLastIndex = 0;
  /** Latest snapshot (taken here or installed), if any. */
  snapshot: SnapshotMeta | undefined = undefined;

  /** Restores a log from durable state: snapshot, then entries after it. */
  restore(snapshot: SnapshotMeta | undefined, entries: readonly Entry[], commit: number): void {
    if (snapshot !== undefined) {
      this.snapshot = snapshot;
      this.offsetIndex = snapshot.index;
      this.offsetTerm = snapshot.term;
    }
    for (const entry of entries) {
      if (entry.index <= this.offsetIndex) continue;
      assert(entry.index === this.lastIndex() + 1, `restored log has a gap at ${entry.index}`);
      this.entries.push(entry);
    }
    this.committed = Math.max(commit, this.offsetIndex);
    assert(this.committed <= this.lastIndex(), "restored commit beyond the log");
    this.applied = this.offsetIndex;
    this.stableIndex = this.lastIndex();
    this.unsentIndex = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.entries.length;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n > 0 ? this.entries.term(n - 1) : this.offsetTerm;
  }

  /** Term at `index`, or -1 when unknown (compacted or beyond the end). */
  term(index: number): number {
    if (index === this.offsetIndex) return this.offsetTerm;
    if (index < this.offsetIndex || index > this.lastIndex()) {
      if (this.snapshot !== undefined && index === this.snapshot.index) return this.snapshot.term;
      return -1;
    }
    return this.entries.term(index - this.offsetIndex - 1);
  }

  /** Bytes of memory the held entries' payloads take. */
  get heldBytes(): number {
    return this.entries.heldBytes;
  }

  /** Payload size of the entry at `index` (held). */
  dataBytes(index: number): number {
    return this.entries.dataBytes(index - this.offsetIndex - 1);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myLastTerm = this.lastTerm();
    return lastTerm > myLastTerm || (lastTerm === myLastTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [from, to) (both within the held log), capped by count and bytes. */
  slice(from: number, to: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    assert(
      from > this.offsetIndex && to <= this.lastIndex() + 1,
      `slice ${from}..${to} out of log`,
    );
    const begin = from - this.offsetIndex - 1;
    let end = Math.min(to - this.offsetIndex - 1, begin + maxCount);
    if (maxBytes !== Infinity && end > begin) {
      let bytes = this.entries.dataBytes(begin);
      for (let i = begin + 1; i < end; i++) {
        bytes += this.entries.dataBytes(i);
        if (bytes > maxBytes) {
          end = i;
          break;
        }
      }
    }
    const out: Entry[] = [];
    for (let i = begin; i < end; i++) out.push(this.entries.get(i, this.offsetIndex + 1 + i));
    return out;
  }

  /** Leader append: entries must continue the log. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, "append must continue the log");
      this.entries.push(entry);
    }
  }

  /**
   * Follower append after a successful prevIndex/prevTerm match. Skips entries the
   * log already holds, truncates at the first conflict. Returns the index of the first
   * entry appended (0 when the log already held them all).
   */
  appendFollower(entries: readonly Entry[]): number {
    const last = this.lastIndex();
    let i = 0;
    for (; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.index > last) break;
      if (this.term(entry.index) !== entry.term) break;
    }
    if (i === entries.length) return 0;
    const firstNew = entries[i].index;
    if (firstNew <= last) this.truncateFrom(firstNew);
    for (; i < entries.length; i++) this.entries.push(entries[i]);
    return firstNew;
  }

  private truncateFrom(index: number): void {
    assert(
      index > this.committed,
      `truncating committed entry ${index} (commit ${this.committed})`,
    );
    assert(index > this.offsetIndex, "truncating compacted entries");
    this.entries.truncate(index - this.offsetIndex - 1);
    if (this.unsentIndex > index) this.unsentIndex = index;
    if (this.stableIndex >= index) this.stableIndex = index - 1;
    if (this.inProgressLastIndex >= index) this.inProgressLastIndex = index - 1;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  hasUnsentEntries(): boolean {
    return this.unsentIndex <= this.lastIndex();
  }

  /** Hands out the entries the caller must persist next. */
  takeUnsentEntries(): Entry[] {
    const last = this.lastIndex();
    if (this.unsentIndex > last) return [];
    const out = this.slice(this.unsentIndex, last + 1);
    this.unsentIndex = last + 1;
    this.inProgressLastIndex = last;
    return out;
  }

  /** The caller persisted what it was handed (entries up to the in-progress index). */
  markPersisted(hadEntries: boolean): void {
    if (hadEntries) this.stableIndex = Math.max(this.stableIndex, this.inProgressLastIndex);
    assert(this.stableIndex <= this.lastIndex(), "stable beyond last index");
  }

  hasCommittedToApply(): boolean {
    return this.committed > this.applied;
  }

  committedToApply(): Entry[] {
    if (this.committed <= this.applied) return [];
    return this.slice(this.applied + 1, this.committed + 1);
  }

  appliedTo(index: number): void {
    assert(index >= this.applied, "applied must not decrease");
    assert(index <= this.committed, `applied ${index} beyond commit ${this.committed}`);
    this.applied = index;
  }

  /** Drops entries <= `index` from memory (index must be <= applied). */
  compact(index: number, snapshot: SnapshotMeta | undefined): void {
    if (snapshot !== undefined) this.snapshot = snapshot;
    if (index <= this.offsetIndex) return;
    assert(index <= this.applied, "compacting beyond applied");
    const term = this.term(index);
    this.entries.dropPrefix(index - this.offsetIndex);
    this.offsetIndex = index;
    this.offsetTerm = term;
  }

  /** Replaces the whole log with an installed snapshot. */
  installSnapshot(snapshot: SnapshotMeta): void {
    assert(snapshot.index > this.committed, "installing a snapshot behind commit");
    this.snapshot = snapshot;
    this.entries.clear();
    this.offsetIndex = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.stableIndex = Math.min(this.stableIndex, snapshot.index);
    this.unsentIndex = snapshot.index + 1;
    this.inProgressLastIndex = 0;
  }

  /** The caller installed the snapshot durably. */
  markSnapshotPersisted(snapshot: SnapshotMeta): void {
    if (this.offsetIndex === snapshot.index && this.stableIndex < snapshot.index) {
      this.stableIndex = snapshot.index;
    }
  }
}
