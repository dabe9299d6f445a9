/**
 * @module
 * A pipelined RESP connection: to the redis child over its unix socket, or to the leader for
 * the follower proxy. Commands are written in order, coalesced into one socket write per
 * event-loop turn; replies come back in the same order and are handed, as raw RESP frames, to
 * the callback registered with each command. When the connection ends, every request still
 * waiting gets the `lostReply` frame: replies are never matched to the wrong request. Each
 * command is answered in the RESP version its sender asks for: the connection switches with
 * HELLO 2/3 in the command stream, only when the next command wants the other one.
 */
import { ReplyScanner } from "../resp/reply_scanner.ts";
import { writeAll } from "../resp/write_all.ts";
import { concatBytes } from "../resp/bytes.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";

/** Receives the raw bytes of one reply frame. */
export type ReplyCallback = (frame: Uint8Array) => void;

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
  private pendingChunks: Uint8Array[] = [];
  private flushScheduled = false;
  private writing: Promise<void> = Promise.resolve();
  /** Bytes flushed to the write chain that the socket has not taken yet. */
  private unwritten = 0;
  private closed = false;
  /** The server sends no replies (CLIENT REPLY OFF) until the next `send`. */
  private repliesOff = false;
  /** Commands without replies were sent since the last `drained()` check. */
  private sentWithoutReply = false;
  /** The child's clock as the last `RAFT.AT` queued here set it (src/node/child_clock.ts). */
  clockMs = -1;
  /** The RESP version the server answers in on this connection, as of the last queued command. */
  private protocol: RespProtocol = 2;
  private readonly scanner = new ReplyScanner();
  /** Resolves when the connection ends (child died or close()); rejects never. */
  readonly ended: Promise<void>;

  private constructor(private readonly conn: Deno.Conn, private readonly lostReply: Uint8Array) {
    this.ended = this.readLoop();
  }

  static async connect(socketPath: string): Promise<PipelinedConnection> {
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    return new PipelinedConnection(
      conn,
      encoder.encode("-ERR redis child connection lost\r\n"),
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
   * silently).
   */
  send(
    commandBytes: Uint8Array,
    replyCount: number,
    onReply: ReplyCallback,
    protocol: RespProtocol = 2,
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
    this.queue(commandBytes);
  }

  /**
   * Queue command bytes whose replies nobody needs (a follower applying entries): the server is
   * told not to send them (CLIENT REPLY OFF, until the next `send`), which saves it the writes
   * and this side the wakeups to read them. Errors are not reported either.
   */
  sendWithoutReply(commandBytes: Uint8Array): void {
    if (this.closed) return;
    this.sentWithoutReply = true;
    if (!this.repliesOff) {
      this.repliesOff = true;
      this.pendingChunks.push(replyOff);
    }
    this.queue(commandBytes);
  }

  private queue(commandBytes: Uint8Array): void {
    this.pendingChunks.push(commandBytes);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Send and wait for the (last) reply. */
  request(
    commandBytes: Uint8Array,
    replyCount = 1,
    protocol: RespProtocol = 2,
  ): Promise<Uint8Array> {
    return new Promise((resolve) => this.send(commandBytes, replyCount, resolve, protocol));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    const waiting = this.callbacks.slice(this.callbackHead);
    this.callbacks.length = 0;
    this.callbackHead = 0;
    for (const callback of waiting) callback(this.lostReply);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pendingChunks.length === 0 || this.closed) return;
    const chunks = this.pendingChunks;
    this.pendingChunks = [];
    const data = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
    this.unwritten += data.length;
    this.writing = this.writing.then(() => this.writeAll(data)).finally(() => {
      this.unwritten -= data.length;
    });
  }

  /** Bytes queued for the server that it has not read yet (beyond the socket's buffer). */
  get unwrittenBytes(): number {
    let queued = 0;
    for (const chunk of this.pendingChunks) queued += chunk.length;
    return this.unwritten + queued;
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    try {
      await writeAll(this.conn, data);
    } catch {
      this.close();
    }
  }

  private async readLoop(): Promise<void> {
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
            this.callbackHead = 0;
          }
          callback(frame);
        }
      }
    } catch {
      // connection reset: treated as the end
    }
    this.close();
  }
}
