import { concatBytes } from "../resp/bytes.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
/**
 * @module
 * Per-client ordered reply queue: each request takes a slot when it arrives; slots complete in
 * any order, but replies leave strictly in request order, coalesced into as few socket writes
 * as possible. Tracks bytes not yet written so the session can apply backpressure.
 */

const NO_BYTES = new Uint8Array(0);
/** Views into buffers at least this large are copied when their reply has to wait. */
const pinnedBufferMinBytes = 16 * 1024;

export class ReplySlot {
  reply: Uint8Array | null = null;
  /** Close the connection once this reply is written (QUIT, protocol errors). */
  closeAfter = false;
  /** CLIENT REPLY OFF or SKIP: the reply is dropped (it still keeps its place in the order). */
  silent = false;
  /**
   * The RESP version this reply is due in: the connection's when the request arrived (a HELLO
   * pipelined behind a blocked command changes only the replies after it).
   */
  readonly protocol: RespProtocol;
  constructor(readonly queue: ReplyQueue) {
    this.protocol = queue.protocol;
  }

  complete(reply: Uint8Array): void {
    if (this.reply !== null) return; // first answer wins (e.g. a timeout raced the real reply)
    this.reply = this.silent ? NO_BYTES : reply;
    this.queue.onComplete(this);
  }

  get done(): boolean {
    return this.reply !== null;
  }
}

export class ReplyQueue {
  /** Slots from `head` on; those before it were written and are dropped (undefined). */
  private slots: (ReplySlot | undefined)[] = [];
  private head = 0;
  private writing = false;
  private flushQueued = false;
  /** Bytes completed but not yet written. */
  unsentBytes = 0;
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  /** The RESP version of the replies this client wants (HELLO); the child answers in it. */
  protocol: RespProtocol = 2;

  constructor(
    private readonly write: (data: Uint8Array) => Promise<void>,
    private readonly onClose: () => void,
    /** CLIENT ID of the connection behind this queue. */
    readonly clientId = 0,
  ) {}

  /** Requests taken but not yet answered and written. */
  get inflightCount(): number {
    return this.slots.length - this.head;
  }

  take(): ReplySlot {
    const slot = new ReplySlot(this);
    this.slots.push(slot);
    return slot;
  }

  /**
   * A RESP3 push (a pub/sub message): it belongs to no request, so it goes out before the first
   * reply still awaited rather than behind it (a subscriber blocked in BLPOP still gets its
   * messages, as from Redis).
   */
  pushOutOfBand(frame: Uint8Array): void {
    let at = this.head;
    while (at < this.slots.length && this.slots[at]!.done) at++;
    const slot = new ReplySlot(this);
    this.slots.splice(at, 0, slot);
    slot.complete(frame);
  }

  onComplete(slot: ReplySlot): void {
    const reply = slot.reply!;
    // A reply is often a view into a much larger read buffer; one that has to wait (behind an
    // earlier reply, or for a client slow to read) is copied, or it would keep that buffer alive
    // while `unsentBytes` counts only its own bytes.
    if (
      reply.buffer.byteLength >= pinnedBufferMinBytes &&
      reply.byteLength * 8 < reply.buffer.byteLength &&
      (this.writing || this.slots[this.head] !== slot)
    ) {
      slot.reply = reply.slice();
    }
    this.unsentBytes += reply.length;
    if (this.slots[this.head] === slot && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Resolves when every reply taken so far is written, or the queue is closed: waiters wake at
   * each write, and replies still awaited (from the log, the child) may follow the first one.
   */
  async drained(): Promise<void> {
    while (this.inflightCount > 0 && !this.closed) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /** Resolves when unsent bytes are at most `limitBytes` and in-flight requests fit `limitCount`. */
  async belowLimits(limitBytes: number, limitCount: number): Promise<void> {
    while (!this.closed && (this.unsentBytes > limitBytes || this.inflightCount > limitCount)) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /** Close the client connection behind this queue (after what was queued is written). */
  closeConnection(): void {
    this.drained().then(() => this.onClose());
  }

  /** True once the connection behind this queue is gone. */
  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.wakeWaiters();
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    if (this.writing || this.closed) return;
    this.writing = true;
    try {
      while (!this.closed && this.head < this.slots.length && this.slots[this.head]!.done) {
        const parts: Uint8Array[] = [];
        let size = 0;
        let closeAfter = false;
        while (this.head < this.slots.length && this.slots[this.head]!.done && !closeAfter) {
          const slot = this.slots[this.head]!;
          // Written: drop it now, not at the next compaction (it holds its reply's bytes).
          this.slots[this.head++] = undefined;
          parts.push(slot.reply!);
          size += slot.reply!.length;
          closeAfter = slot.closeAfter;
        }
        if (this.head > 1024) {
          this.slots = this.slots.slice(this.head);
          this.head = 0;
        }
        if (size > 0) await this.write(parts.length === 1 ? parts[0] : concatBytes(parts));
        this.unsentBytes -= size;
        this.wakeWaiters();
        if (closeAfter) {
          this.close();
          this.onClose();
          return;
        }
      }
    } catch {
      this.close();
      this.onClose();
    } finally {
      this.writing = false;
    }
  }

  private wakeWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
