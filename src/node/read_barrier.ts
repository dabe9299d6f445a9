/**
 * @module
 * Linearizable reads: reads arriving together share one ReadIndex round; once the core confirms
 * the round at index i, each read is sent to the child as soon as the applied index reaches both
 * i and the read's own floor (the index of its session's last write, so a connection always reads
 * its own writes in pipeline order). The child connection is ordered, so a read sent after entry
 * i is applied sees its effects.
 */
import type { ReplySlot } from "../server/reply_queue.ts";
import { encodeError } from "../server/replies.ts";
import { Errors } from "../server/errors.ts";

export interface PendingRead {
  commandBytes: Uint8Array;
  replyCount: number;
  slot: ReplySlot;
  deadlineMs: number;
  /** Applied index this read must wait for regardless of the round (its session's last write). */
  minIndex: number;
  /** Called once the read is sent to the child (or failed). */
  dispatched: () => void;
}

interface Waiting {
  index: number;
  read: PendingRead;
}

export class ReadBarrier {
  private nextRequestId = 1;
  /** Reads not yet part of a ReadIndex round. */
  private gathering: PendingRead[] = [];
  /** Rounds asked of the core and not yet confirmed. */
  private readonly rounds = new Map<number, PendingRead[]>();
  /** Confirmed reads waiting for the applied index, sorted by index. */
  private waiting: Waiting[] = [];

  constructor(
    private readonly askReadIndex: (requestId: number) => void,
    private readonly send: (read: PendingRead) => void,
  ) {}

  get pendingCount(): number {
    let n = this.gathering.length + this.waiting.length;
    for (const reads of this.rounds.values()) n += reads.length;
    return n;
  }

  /** A linearizable read: joins the next ReadIndex round. */
  add(read: PendingRead): void {
    this.gathering.push(read);
    if (this.gathering.length === 1) queueMicrotask(() => this.startRound());
  }

  /** A read that needs no round (stale mode): only its floor. */
  addLocal(read: PendingRead, appliedIndex: number): void {
    this.wait(read.minIndex, read, appliedIndex);
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
    for (const read of reads) this.wait(Math.max(index, read.minIndex), read, appliedIndex);
  }

  private wait(index: number, read: PendingRead, appliedIndex: number): void {
    if (index <= appliedIndex) return this.dispatch(read);
    let at = this.waiting.length;
    while (at > 0 && this.waiting[at - 1].index > index) at--;
    this.waiting.splice(at, 0, { index, read });
  }

  private dispatch(read: PendingRead): void {
    this.send(read);
    read.dispatched();
  }

  fail(requestId: number, error: string): void {
    const reads = this.rounds.get(requestId);
    if (!reads) return;
    this.rounds.delete(requestId);
    for (const read of reads) this.failRead(read, error);
  }

  private failRead(read: PendingRead, error: string): void {
    read.slot.complete(encodeError(error));
    read.dispatched();
  }

  /** Send every waiting read whose index is now applied. */
  applied(appliedIndex: number): void {
    let n = 0;
    while (n < this.waiting.length && this.waiting[n].index <= appliedIndex) n++;
    if (n === 0) return;
    const ready = this.waiting.splice(0, n);
    for (const { read } of ready) this.dispatch(read);
  }

  /** Fail reads past their deadline. */
  expire(nowMs: number): void {
    const expired = (read: PendingRead) => read.deadlineMs <= nowMs;
    const failed: PendingRead[] = [];
    this.gathering = this.gathering.filter((r) => !(expired(r) && failed.push(r)));
    for (const [id, reads] of this.rounds) {
      this.rounds.set(id, reads.filter((r) => !(expired(r) && failed.push(r))));
    }
    this.waiting = this.waiting.filter((w) => !(expired(w.read) && failed.push(w.read)));
    for (const read of failed) this.failRead(read, Errors.readNoQuorum);
  }

  failAll(error: string): void {
    const all = [
      ...this.gathering,
      ...[...this.rounds.values()].flat(),
      ...this.waiting.map((w) => w.read),
    ];
    this.gathering = [];
    this.rounds.clear();
    this.waiting = [];
    for (const read of all) this.failRead(read, error);
  }
}
