/**
 * @module
 * A pipelined RESP connection: to the redis child over its unix socket, or to the leader for
 * the follower proxy. Commands are written in order, coalesced into one socket write per
 * event-loop turn; replies come back in the same order and are handed, as raw RESP frames, to
 * the callback registered with each command. When the connection ends, every request still
 * waiting gets the `lostReply` frame: replies are never matched to the wrong request. Each
 * command is answered in the RESP version its sender asks for: the connection switches with
 * HELLO 2/3 in the command stream, only when the next command wants the other one. A command
 * sent for a client can name the client's `Answerable`: `answerOverdue` answers it with a
 * stand-in (a timeout) once it has waited too long, and the real reply, when it comes, still
 * goes to its callback (the answerable keeps the first answer).
 */
import { ReplyScanner } from "../resp/reply_scanner.ts";
import { writeAll } from "../resp/write_all.ts";
import { coalesceForWrite } from "../resp/bytes.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";

/** One command's encoded bytes: a buffer, or buffers to write one after the other. */
export type CommandParts = Uint8Array | readonly Uint8Array[];

/** Receives the raw bytes of one reply frame. */
export type ReplyCallback = (frame: Uint8Array) => void;

/** Whoever a reply is owed to, if it can take a stand-in answer (a client's reply slot). */
export interface Answerable {
  /** Takes the first answer given; later ones are dropped. */
  complete(reply: Uint8Array): void;
}

const ignoreReply: ReplyCallback = () => {};
const encoder = new TextEncoder();
const replyOff = encoder.encode("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
const replyOn = encoder.encode("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n");
const helloCommands = {
  2: encoder.encode("*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n"),
  3: encoder.encode("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"),
} as const;

export class PipelinedConnection {
  private readonly callbacks: ReplyCallback[] = [];
  private callbackHead = 0;
  /** How many callbacks were dropped from the front of `callbacks`: its first one's number. */
  private callbackBase = 0;
  /** Commands' numbers (their callback's) sent for an `Answerable`, increasing; with `waiters`. */
  private waiterNumbers: number[] = [];
  private waiters: (Answerable | undefined)[] = [];
  private waiterHead = 0;
  /** Per `answerOverdue` call that saw new commands: its time and how many had been sent. */
  private sentSamples: { atMs: number; sentCount: number }[] = [];
  private sentSampleHead = 0;
  /** Replies received as of the last `answerOverdue`, and when that count last moved. */
  private answeredCount = 0;
  private progressAtMs = -1;
  private pendingChunks: Uint8Array[] = [];
  private flushScheduled = false;
  private writing: Promise<void> = Promise.resolve();
  /** Bytes flushed to the write chain that the socket has not taken yet. */
  private unwritten = 0;
  private closed = false;
  /** Closed by its owner (`close()`), not by the server, a failed write or a malformed reply. */
  private closedByOwner = false;
  /** The server sends no replies (CLIENT REPLY OFF) until the next `send`. */
  private repliesOff = false;
  /** Commands without replies were sent since the last `drained()` check. */
  private sentWithoutReply = false;
  /** The child's clock as the last `RAFT.AT` queued here set it (src/node/child_clock.ts). */
  clockMs = -1;
  /** The RESP version the server answers in on this connection, as of the last queued command. */
  private protocol: RespProtocol = 2;
  private readonly scanner: ReplyScanner;
  /**
   * Resolves when the connection ends (child died or close()); rejects never. True if it ended
   * by its owner's `close()`.
   */
  readonly ended: Promise<boolean>;

  private constructor(
    private readonly conn: Deno.Conn,
    private readonly lostReply: Uint8Array,
    replyMaxBytes?: number,
  ) {
    this.scanner = new ReplyScanner(replyMaxBytes ? { frameMaxBytes: replyMaxBytes } : {});
    this.ended = this.readLoop();
  }

  /** A connection to the redis child; a reply over `replyMaxBytes` comes as an error instead. */
  static async connect(socketPath: string, replyMaxBytes?: number): Promise<PipelinedConnection> {
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    return new PipelinedConnection(
      conn,
      encoder.encode("-ERR redis child connection lost\r\n"),
      replyMaxBytes,
    );
  }

  static async connectTcp(addr: string, lostReply: Uint8Array): Promise<PipelinedConnection> {
    const colon = addr.lastIndexOf(":");
    const conn = await Deno.connect({
      hostname: addr.slice(0, colon),
      port: Number(addr.slice(colon + 1)),
    });
    conn.setNoDelay(true);
    return new PipelinedConnection(conn, lostReply);
  }

  /**
   * How long, as of the last `answerOverdue` call, replies have been awaited with none coming
   * (0 when none is awaited).
   */
  unansweredForMs(nowMs: number): number {
    return this.inflightCount === 0 ? 0 : nowMs - this.progressAtMs;
  }

  /** Replies not yet received. */
  get inflightCount(): number {
    return this.callbacks.length - this.callbackHead;
  }

  /**
   * Resolves once every command sent so far (with or without a reply) has been executed and
   * every reply received, or the connection ended.
   */
  async drained(): Promise<void> {
    if (this.closed || (this.inflightCount === 0 && !this.sentWithoutReply)) return;
    this.sentWithoutReply = false;
    await new Promise<void>((resolve) =>
      this.send(encoder.encode("*1\r\n$4\r\nPING\r\n"), 1, () => resolve())
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue already-encoded command bytes expecting `replyCount` replies in RESP `protocol`;
   * `onReply` gets the last one (the others, e.g. MULTI's +OK and +QUEUED, are consumed
   * silently). `waiter`, if given, is who the reply is for (see `answerOverdue`).
   */
  send(
    commandBytes: CommandParts,
    replyCount: number,
    onReply: ReplyCallback,
    protocol: RespProtocol = 2,
    waiter?: Answerable,
  ): void {
    if (this.closed) return onReply(this.lostReply);
    if (this.repliesOff) {
      this.repliesOff = false;
      this.pendingChunks.push(replyOn);
      this.callbacks.push(ignoreReply);
    }
    if (protocol !== this.protocol) {
      this.protocol = protocol;
      this.pendingChunks.push(helloCommands[protocol]);
      this.callbacks.push(ignoreReply);
    }
    for (let i = 1; i < replyCount; i++) this.callbacks.push(ignoreReply);
    this.callbacks.push(onReply);
    if (waiter) {
      this.waiterNumbers.push(this.callbackBase + this.callbacks.length - 1);
      this.waiters.push(waiter);
    }
    this.queue(commandBytes);
  }

  /**
   * Answer with `frame` every waiter whose command was sent at least `maxWaitMs` before `nowMs`
   * and is still unanswered. Called periodically (each call also notes how many commands were
   * sent by then, which is how a command's age is known: to within the calls' interval).
   */
  answerOverdue(nowMs: number, maxWaitMs: number, frame: Uint8Array): void {
    const sentCount = this.callbackBase + this.callbacks.length;
    const answeredBelow = this.callbackBase + this.callbackHead;
    if (
      this.progressAtMs < 0 || answeredBelow !== this.answeredCount || answeredBelow === sentCount
    ) {
      this.answeredCount = answeredBelow;
      this.progressAtMs = nowMs;
    }
    const samples = this.sentSamples;
    if (samples.length === this.sentSampleHead || samples.at(-1)!.sentCount !== sentCount) {
      samples.push({ atMs: nowMs, sentCount });
    }
    let overdueBelow = 0; // commands numbered below this were sent at least maxWaitMs ago
    while (
      this.sentSampleHead < samples.length && samples[this.sentSampleHead].atMs <= nowMs - maxWaitMs
    ) {
      overdueBelow = samples[this.sentSampleHead++].sentCount;
    }
    if (this.sentSampleHead === samples.length) {
      // Keep the newest: it still bounds the commands sent before it.
      this.sentSamples = [samples[samples.length - 1]];
      this.sentSampleHead = 0;
    } else if (this.sentSampleHead > 64) {
      this.sentSamples = samples.slice(this.sentSampleHead);
      this.sentSampleHead = 0;
    }
    while (this.waiterHead < this.waiterNumbers.length) {
      const number = this.waiterNumbers[this.waiterHead];
      if (number >= answeredBelow && number >= overdueBelow) break;
      const waiter = this.waiters[this.waiterHead];
      this.waiters[this.waiterHead++] = undefined;
      if (number >= answeredBelow) waiter!.complete(frame);
    }
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiterNumbers.length) {
      this.waiterNumbers = this.waiterNumbers.slice(this.waiterHead);
      this.waiters = this.waiters.slice(this.waiterHead);
      this.waiterHead = 0;
    }
  }

  /**
   * Queue command bytes whose replies nobody needs (a follower applying entries): the server is
   * told not to send them (CLIENT REPLY OFF, until the next `send`), which saves it the writes
   * and this side the wakeups to read them. Errors are not reported either.
   */
  sendWithoutReply(commandBytes: CommandParts): void {
    if (this.closed) return;
    this.sentWithoutReply = true;
    if (!this.repliesOff) {
      this.repliesOff = true;
      this.pendingChunks.push(replyOff);
    }
    this.queue(commandBytes);
  }

  private queue(commandBytes: CommandParts): void {
    if (commandBytes instanceof Uint8Array) this.pendingChunks.push(commandBytes);
    else this.pendingChunks.push(...commandBytes);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Send and wait for the (last) reply (`waiter` as for `send`). */
  request(
    commandBytes: Uint8Array,
    replyCount = 1,
    protocol: RespProtocol = 2,
    waiter?: Answerable,
  ): Promise<Uint8Array> {
    return new Promise((resolve) => this.send(commandBytes, replyCount, resolve, protocol, waiter));
  }

  close(): void {
    if (!this.closed) this.closedByOwner = true;
    this.end();
  }

  /** Ends the connection: whatever still awaits a reply gets the lost-connection reply. */
  private end(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    const waiting = this.callbacks.slice(this.callbackHead);
    this.callbacks.length = 0;
    this.callbackHead = 0;
    this.waiterNumbers = [];
    this.waiters = [];
    this.waiterHead = 0;
    for (const callback of waiting) callback(this.lostReply);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pendingChunks.length === 0 || this.closed) return;
    const chunks = this.pendingChunks;
    this.pendingChunks = [];
    const parts = coalesceForWrite(chunks);
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    this.unwritten += bytes;
    this.writing = this.writing.then(() => this.writeAll(parts)).finally(() => {
      this.unwritten -= bytes;
    });
  }

  /** Bytes queued for the server that it has not read yet (beyond the socket's buffer). */
  get unwrittenBytes(): number {
    let queued = 0;
    for (const chunk of this.pendingChunks) queued += chunk.length;
    return this.unwritten + queued;
  }

  private async writeAll(parts: Uint8Array[]): Promise<void> {
    try {
      for (const part of parts) await writeAll(this.conn, part);
    } catch {
      this.end();
    }
  }

  private async readLoop(): Promise<boolean> {
    const buffer = new Uint8Array(256 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        this.scanner.push(buffer.subarray(0, n));
        for (let frame = this.scanner.next(); frame !== null; frame = this.scanner.next()) {
          const callback = this.callbacks[this.callbackHead];
          // Dropped now, not at the next compaction: a callback can hold its reply (and the
          // replies of thousands of earlier requests, megabytes each, would stay alive).
          this.callbacks[this.callbackHead++] = ignoreReply;
          if (this.callbackHead > 4096 && this.callbackHead * 2 > this.callbacks.length) {
            this.callbacks.splice(0, this.callbackHead);
            this.callbackBase += this.callbackHead;
            this.callbackHead = 0;
          }
          callback(frame);
        }
      }
    } catch {
      // connection reset: treated as the end
    }
    this.end();
    return this.closedByOwner;
  }
}
