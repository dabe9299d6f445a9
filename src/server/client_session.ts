/**
 * @module
 * One client connection: reads bytes, parses requests, hands each to the command handler with
 * a reply slot, and writes replies in request order. Backpressure: while unsent replies exceed
 * the byte limit or too many requests are in flight, the socket is not read. A protocol error
 * gets Redis's error text and closes this connection only.
 */
import { ReadBufferPool } from "./read_buffer_pool.ts";
import { ProtocolError, RequestParser } from "../resp/mod.ts";
import { ReplyQueue, type ReplySlot } from "./reply_queue.ts";
import { writeAll } from "../resp/write_all.ts";

export interface SessionLimits {
  protoMaxBulkLenBytes: number;
  multibulkMaxCount: number;
  inlineMaxBytes: number;
  queryBufferMaxBytes: number;
  clientReplyBufferMaxBytes: number;
  clientPipelineMaxCount: number;
  /**
   * The clients' password (Redis's requirepass), read as each request arrives: while it is set a
   * connection that has not authenticated is held to Redis's 10 arguments and 16 KiB bulks.
   */
  requirepass?: string;
}

/** What a session hands each parsed request to. */
export interface CommandHandler {
  handle(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void;
  /** The requests of a read, if any, are handled. */
  received(session: ClientSession, nowMs: number): void;
  closed(session: ClientSession): void;
}

/** The read buffer a connection holds while it waits for requests. */
export const readBufferMinBytes = 4 * 1024;
/** The pooled buffer a connection reads into while its client sends more than that at once. */
export const readBufferMaxBytes = 64 * 1024;
/** Large read buffers kept for reuse between connections' bursts. */
const pooledReadBuffersMaxCount = 64;

const largeReadBuffers = new ReadBufferPool(readBufferMaxBytes, pooledReadBuffersMaxCount);

let nextClientId = 1;

export class ClientSession {
  readonly id = nextClientId++;
  readonly replies: ReplyQueue;
  /** Name set by CLIENT SETNAME. */
  name = "";
  /** Per-session state owned by the command handler (MULTI queue, WATCH, ...). */
  state: Record<string, unknown> = {};
  /** performance.now() when the connection was accepted (CLIENT LIST's age). */
  readonly createdAtMs = performance.now();
  /** performance.now() when the latest request bytes arrived (CLIENT LIST's idle). */
  lastRequestAtMs = this.createdAtMs;
  #authenticated = false;
  #peer = false;
  /** Name of the latest command, lower case (CLIENT LIST's cmd); set by the command handler. */
  lastCommand = "NULL";
  private open = true;
  private readonly parser: RequestParser;
  /** What the next (or pending) read reads into. */
  private readBuffer: Uint8Array = new Uint8Array(readBufferMinBytes);

  constructor(
    private readonly conn: Deno.Conn,
    private readonly handler: CommandHandler,
    private readonly limits: SessionLimits,
  ) {
    this.replies = new ReplyQueue((data) => this.writeAll(data), () => this.close(), this.id);
    this.parser = new RequestParser({
      limits: {
        protoMaxBulkLenBytes: this.limits.protoMaxBulkLenBytes,
        multibulkMaxCount: this.limits.multibulkMaxCount,
        inlineMaxBytes: this.limits.inlineMaxBytes,
        queryBufferMaxBytes: this.limits.queryBufferMaxBytes,
      },
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Gave the password (AUTH or HELLO ... AUTH), or none is required; set by the handler. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  set authenticated(value: boolean) {
    this.#authenticated = value;
    this.applyAuthLimits();
  }

  /** A peer's link (RAFT.HELLO with the cluster password): its messages exceed the pre-auth limits. */
  get peer(): boolean {
    return this.#peer;
  }

  set peer(value: boolean) {
    this.#peer = value;
    this.applyAuthLimits();
  }

  /** Redis's `authRequired(c)`: the parser's limits for a connection that has not authenticated. */
  private applyAuthLimits(): void {
    this.parser.authRequired = !this.#authenticated && !this.#peer && !!this.limits.requirepass;
  }

  get remoteAddr(): string {
    const addr = this.conn.remoteAddr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
  }

  get localAddr(): string {
    const addr = this.conn.localAddr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
  }

  /** Bytes received and not yet handled as commands (CLIENT LIST's qbuf). */
  get queryBytes(): number {
    return this.parser.heldBytes;
  }

  /** Bytes of buffer this connection reads into and parses from, used or not. */
  get queryBufferBytes(): number {
    return this.readBuffer.length + this.parser.bufferBytes;
  }

  /** Serve until the client leaves or is closed. */
  async serve(): Promise<void> {
    const parser = this.parser;
    // Small while waiting: most clients send a command at a time, and a buffer per connection
    // adds up over thousands of them. A read that fills it means more is waiting: the reads after
    // it borrow a large buffer until one comes back short (the socket is drained).
    const small = this.readBuffer;
    let buffer: Uint8Array = small;
    /** A command whose reply closes the connection (QUIT) was taken: nothing after it runs. */
    let closing = false;
    try {
      while (this.open && !closing) {
        if (
          this.replies.unsentBytes > this.limits.clientReplyBufferMaxBytes ||
          this.replies.inflightCount > this.limits.clientPipelineMaxCount
        ) {
          await this.replies.belowLimits(
            this.limits.clientReplyBufferMaxBytes,
            this.limits.clientPipelineMaxCount,
          );
          continue;
        }
        const n = await this.conn.read(buffer);
        if (n === null) break;
        this.lastRequestAtMs = performance.now();
        if (!this.#authenticated) this.applyAuthLimits(); // the password may have changed
        parser.push(buffer.subarray(0, n));
        if (buffer !== small) largeReadBuffers.give(buffer);
        buffer = this.readBuffer = n === buffer.length ? largeReadBuffers.take() : small;
        for (let args = parser.next(); args !== null && this.open; args = parser.next()) {
          const slot = this.replies.take();
          this.handler.handle(this, args, slot);
          // As Redis: commands pipelined after QUIT (or a refusal that closes) do not run.
          if (slot.closeAfter) {
            closing = true;
            break;
          }
        }
        if (this.open) this.handler.received(this, this.lastRequestAtMs);
      }
    } catch (error) {
      if (error instanceof ProtocolError && error.replyExpected && this.open) {
        const slot = this.replies.take();
        slot.closeAfter = true;
        slot.complete(error.reply());
        await this.replies.drained();
      }
    }
    if (closing) await this.replies.drained();
    this.close();
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.replies.close();
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.handler.closed(this);
  }

  private writeAll(data: Uint8Array): Promise<void> {
    return writeAll(this.conn, data);
  }
}
