/**
 * @module
 * Client writes waiting for their log entry to be applied, keyed by entry index. An entry
 * applied at that index with the proposal's term answers the client with the child's reply; any
 * other term means the proposal was lost (`-TIMEOUT not committed yet`). Requests older than the
 * request timeout are answered with `-TIMEOUT` (their outcome is then unknown to the client).
 */
import { encodeError } from "../server/replies.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { Errors } from "../server/errors.ts";

interface PendingWrite {
  term: number;
  slot: ReplySlot;
  deadlineMs: number;
}

export class PendingWrites {
  /** Insertion order is index order: proposals get increasing indexes. */
  private readonly byIndex = new Map<number, PendingWrite>();

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, term: number, slot: ReplySlot, deadlineMs: number): void {
    this.byIndex.set(index, { term, slot, deadlineMs });
  }

  /** The slot waiting for the entry (index, term), removed; a lost proposal is failed. */
  take(index: number, term: number): ReplySlot | undefined {
    const pending = this.byIndex.get(index);
    if (!pending) return undefined;
    this.byIndex.delete(index);
    if (pending.term === term) return pending.slot;
    pending.slot.complete(encodeError(Errors.notCommitted));
    return undefined;
  }

  /** Fail every request at index >= `fromIndex` (their entries were truncated). */
  failFrom(fromIndex: number): void {
    for (const [index, pending] of this.byIndex) {
      if (index < fromIndex) continue;
      this.byIndex.delete(index);
      pending.slot.complete(encodeError(Errors.notCommitted));
    }
  }

  /** Answer requests past their deadline with -TIMEOUT. */
  expire(nowMs: number): void {
    for (const [index, pending] of this.byIndex) {
      if (pending.deadlineMs > nowMs) continue;
      this.byIndex.delete(index);
      pending.slot.complete(encodeError(Errors.requestTimeout));
    }
  }

  failAll(error: string): void {
    for (const pending of this.byIndex.values()) pending.slot.complete(encodeError(error));
    this.byIndex.clear();
  }
}
