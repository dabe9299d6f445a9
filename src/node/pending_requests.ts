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
  index: number;
  term: number;
  slot: ReplySlot;
  deadlineMs: number;
}

export class PendingWrites {
  /**
   * Sorted by index: proposals get increasing indexes and entries are applied in index order,
   * so adds go to the tail and takes come from the head (a queue, not a map, on the hot path).
   */
  private queue: PendingWrite[] = [];
  private head = 0;
  /** Stands in for a taken request so the queue stops holding its slot and reply. */
  private static readonly taken: PendingWrite = {
    index: -1,
    term: -1,
    slot: null as unknown as ReplySlot,
    deadlineMs: Infinity,
  };

  get size(): number {
    return this.queue.length - this.head;
  }

  add(index: number, term: number, slot: ReplySlot, deadlineMs: number): void {
    const pending = { index, term, slot, deadlineMs };
    const last = this.queue.length - 1;
    if (last < this.head || this.queue[last].index < index) {
      this.queue.push(pending);
      return;
    }
    // Not after the tail (cannot happen with a single proposer; kept correct regardless).
    this.compact();
    let at = this.queue.findIndex((p) => p.index >= index);
    if (at < 0) at = this.queue.length;
    if (this.queue[at]?.index === index) {
      this.queue[at].slot.complete(encodeError(Errors.notCommitted));
      this.queue[at] = pending;
    } else {
      this.queue.splice(at, 0, pending);
    }
  }

  /** The slot waiting for the entry (index, term), removed; a lost proposal is failed. */
  take(index: number, term: number): ReplySlot | undefined {
    // Entries are applied in index order: a request below `index` still here had its entry
    // skipped (covered by an installed snapshot): it may or may not have committed.
    while (this.head < this.queue.length && this.queue[this.head].index < index) {
      const skipped = this.queue[this.head];
      this.queue[this.head++] = PendingWrites.taken;
      skipped.slot.complete(encodeError(Errors.requestTimeout));
    }
    if (this.head === this.queue.length || this.queue[this.head].index !== index) {
      this.maybeCompact();
      return undefined;
    }
    const pending = this.queue[this.head];
    this.queue[this.head++] = PendingWrites.taken;
    this.maybeCompact();
    if (pending.term === term) return pending.slot;
    pending.slot.complete(encodeError(Errors.notCommitted));
    return undefined;
  }

  /** Fail every request at index >= `fromIndex` (their entries were truncated). */
  failFrom(fromIndex: number): void {
    this.compact();
    const at = this.queue.findIndex((p) => p.index >= fromIndex);
    if (at < 0) return;
    const failed = this.queue.splice(at);
    for (const pending of failed) pending.slot.complete(encodeError(Errors.notCommitted));
  }

  /** Answer requests past their deadline with -TIMEOUT. */
  expire(nowMs: number): void {
    this.compact();
    const expired = this.queue.filter((p) => p.deadlineMs <= nowMs);
    if (expired.length === 0) return;
    this.queue = this.queue.filter((p) => p.deadlineMs > nowMs);
    for (const pending of expired) pending.slot.complete(encodeError(Errors.requestTimeout));
  }

  failAll(error: string): void {
    const all = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const pending of all) pending.slot.complete(encodeError(error));
  }

  private maybeCompact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.compact();
    }
  }

  private compact(): void {
    if (this.head === 0) return;
    this.queue = this.queue.slice(this.head);
    this.head = 0;
  }
}
