/**
 * @module
 * Linearizable reads: reads arriving together share one ReadIndex round; once the core confirms
 * the round at index i, each read is sent to the child as soon as the applied index reaches both
 * i and the read's own floor (the index of its session's last write, so a connection always reads
 * its own writes in pipeline order). The child connection is ordered, so a read sent after entry
 * i is applied sees its effects.
 *
 * A read that arrives when everything committed is already applied (and its floor too) runs on
 * the child at once, in parallel with its round, and its reply is held until the round confirms.
 * That is still linearizable: the state it sees contains every write acknowledged before it
 * arrived (those are committed, so applied), and only committed writes; the round, started after
 * the read arrived, proves no newer leader could have acknowledged a write before then. If the
 * round fails, the held reply is dropped and the client gets the round's error.
 */
import type { ReplySlot } from "../server/reply_queue.ts";
import type { CommandParts } from "../redis/pipelined_connection.ts";
import { encodeError } from "../server/replies.ts";
import { Errors } from "../server/errors.ts";

export interface PendingRead {
  commandBytes: CommandParts;
  replyCount: number;
  slot: ReplySlot;
  deadlineMs: number;
  /** Applied index this read must wait for regardless of the round (its session's last write). */
  minIndex: number;
  /** Called once the read is sent to the child (or failed before that). */
  dispatched: () => void;
}

/** Sends a read's command to the child; `reply` gets the child's reply. */
export type SendRead = (read: PendingRead, reply: (frame: Uint8Array) => void) => void;

interface Waiting {
  index: number;
  read: PendingRead;
}

/** A read already run on the child, its reply held until its round confirms. */
interface EarlyRead {
  read: PendingRead;
  reply: Uint8Array | null;
  confirmed: boolean;
}

type RoundMember = PendingRead | EarlyRead;

export class ReadBarrier {
  private nextRequestId = 1;
  /** Reads not yet part of a ReadIndex round. */
  private gathering: RoundMember[] = [];
  /** Rounds asked of the core and not yet confirmed. */
  private readonly rounds = new Map<number, RoundMember[]>();
  /** Confirmed reads waiting for the applied index, sorted by index. */
  private waiting: Waiting[] = [];

  constructor(
    private readonly askReadIndex: (requestId: number) => void,
    private readonly send: SendRead,
  ) {}

  get pendingCount(): number {
    let n = this.gathering.length + this.waiting.length;
    for (const reads of this.rounds.values()) n += reads.length;
    return n;
  }

  /**
   * A linearizable read: joins the next ReadIndex round. With everything up to `commitIndex`
   * (and the read's floor) applied, it also runs on the child now (see the module comment).
   */
  add(read: PendingRead, commitIndex: number, appliedIndex: number): void {
    if (appliedIndex >= commitIndex && appliedIndex >= read.minIndex) {
      const early: EarlyRead = { read, reply: null, confirmed: false };
      this.dispatch(read, (frame) => {
        early.reply = frame;
        if (early.confirmed) read.slot.complete(frame);
      });
      this.gathering.push(early);
    } else {
      this.gathering.push(read);
    }
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
    const members = this.rounds.get(requestId);
    if (!members) return;
    this.rounds.delete(requestId);
    for (const member of members) {
      if (isEarly(member)) {
        member.confirmed = true;
        if (member.reply !== null) member.read.slot.complete(member.reply);
      } else {
        this.wait(Math.max(index, member.minIndex), member, appliedIndex);
      }
    }
  }

  private wait(index: number, read: PendingRead, appliedIndex: number): void {
    if (index <= appliedIndex) return this.dispatch(read);
    let at = this.waiting.length;
    while (at > 0 && this.waiting[at - 1].index > index) at--;
    this.waiting.splice(at, 0, { index, read });
  }

  /** Sends `read` to the child; its reply answers the client unless `reply` holds it. */
  private dispatch(
    read: PendingRead,
    reply = (frame: Uint8Array) => read.slot.complete(frame),
  ): void {
    this.send(read, reply);
    read.dispatched();
  }

  fail(requestId: number, error: string): void {
    const members = this.rounds.get(requestId);
    if (!members) return;
    this.rounds.delete(requestId);
    for (const member of members) this.failMember(member, error);
  }

  /** Answers `error`; a held reply arriving later is dropped (the first answer wins). */
  private failMember(member: RoundMember, error: string): void {
    if (isEarly(member)) return member.read.slot.complete(encodeError(error));
    member.slot.complete(encodeError(error));
    member.dispatched();
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
    const failed: RoundMember[] = [];
    const keep = (member: RoundMember) => {
      if (deadlineOf(member) > nowMs) return true;
      failed.push(member);
      return false;
    };
    this.gathering = this.gathering.filter(keep);
    for (const [id, members] of this.rounds) this.rounds.set(id, members.filter(keep));
    this.waiting = this.waiting.filter((w) => keep(w.read));
    for (const member of failed) this.failMember(member, Errors.readNoQuorum);
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
    for (const member of all) this.failMember(member, error);
  }
}

function isEarly(member: RoundMember): member is EarlyRead {
  return "confirmed" in member;
}

function deadlineOf(member: RoundMember): number {
  return isEarly(member) ? member.read.deadlineMs : member.deadlineMs;
}
