/**
 * @module
 * Linearizable reads: reads arriving together share one ReadIndex round; once the core confirms
 * the round at index i, each read is sent to the child as soon as the applied index reaches i
 * (the child connection is ordered, so a read sent after entry i sees its effects).
 */
import { encodeError } from "../server/replies.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { Errors } from "../server/errors.ts";

export interface PendingRead {
  commandBytes: Uint8Array;
  replyCount: number;
  slot: ReplySlot;
  deadlineMs: number;
}

export class ReadBarrier {
  private nextRequestId = 1;
  /** Reads not yet part of a ReadIndex round. */
  private gathering: PendingRead[] = [];
  /** Rounds asked of the core and not yet confirmed. */
  private readonly rounds = new Map<number, PendingRead[]>();
  /** Confirmed reads waiting for the applied index, in index order. */
  private confirmed: { index: number; reads: PendingRead[] }[] = [];

  constructor(
    private readonly askReadIndex: (requestId: number) => void,
    private readonly send: (read: PendingRead) => void,
  ) {}

  get pendingCount(): number {
    let n = this.gathering.length;
    for (const reads of this.rounds.values()) n += reads.length;
    for (const c of this.confirmed) n += c.reads.length;
    return n;
  }

  add(read: PendingRead): void {
    this.gathering.push(read);
    if (this.gathering.length === 1) queueMicrotask(() => this.startRound());
  }

  private startRound(): void {
    if (this.gathering.length === 0) return;
    const requestId = this.nextRequestId++;
    this.rounds.set(requestId, this.gathering);
    this.gathering = [];
    this.askReadIndex(requestId);
  }

  /** The core confirmed round `requestId` at `index`. */
  confirm(requestId: number, index: number, appliedIndex: number): void {
    const reads = this.rounds.get(requestId);
    if (!reads) return;
    this.rounds.delete(requestId);
    if (index <= appliedIndex) {
      for (const read of reads) this.send(read);
      return;
    }
    this.confirmed.push({ index, reads });
    this.confirmed.sort((a, b) => a.index - b.index);
  }

  fail(requestId: number, error: string): void {
    const reads = this.rounds.get(requestId);
    if (!reads) return;
    this.rounds.delete(requestId);
    for (const read of reads) read.slot.complete(encodeError(error));
  }

  /** Send every confirmed read whose index is now applied. */
  applied(appliedIndex: number): void {
    while (this.confirmed.length > 0 && this.confirmed[0].index <= appliedIndex) {
      for (const read of this.confirmed.shift()!.reads) this.send(read);
    }
  }

  /** Fail reads past their deadline, and everything when leadership is lost. */
  expire(nowMs: number): void {
    const keep = (r: PendingRead) => {
      if (r.deadlineMs > nowMs) return true;
      r.slot.complete(encodeError(Errors.readNoQuorum));
      return false;
    };
    this.gathering = this.gathering.filter(keep);
    for (const [id, reads] of this.rounds) this.rounds.set(id, reads.filter(keep));
    for (const c of this.confirmed) c.reads = c.reads.filter(keep);
  }

  failAll(error: string): void {
    for (const read of this.gathering) read.slot.complete(encodeError(error));
    for (const reads of this.rounds.values()) for (const r of reads) r.slot.complete(encodeError(error));
    for (const c of this.confirmed) for (const r of c.reads) r.slot.complete(encodeError(error));
    this.gathering = [];
    this.rounds.clear();
    this.confirmed = [];
  }
}
