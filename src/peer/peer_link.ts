/**
 * @module
 * The outbound link to one peer: a TCP connection to its `--addr`, a `RAFT.HELLO` handshake,
 * then pipelined `RAFT.MSG <binary>` commands, answered on error (which ends the link) and, now
 * and then, with a `+OK` that says bytes arrive (PeerProgressAck). The queue is bounded in bytes:
 * when full, new messages are dropped (Raft retransmits). Reconnects with exponential backoff and
 * jitter; connection counters feed INFO raft's node lines. A connection whose peer acknowledged
 * nothing of what it was sent for a while is dropped by the owner (`silentForMs`, `dropSilent`):
 * after a network fault TCP resends on a backoff that grows to minutes, a new connection at once.
 */
import { encodeCommand, ReplyScanner } from "../resp/mod.ts";
import { writeAll } from "../resp/write_all.ts";
import { coalesceForWrite, WRITE_COPY_MAX_BYTES } from "../resp/bytes.ts";
import type { Message } from "../raft/mod.ts";
import { writeMessage } from "./message_codec.ts";
import { withConnectTimeout } from "./connect_timeout.ts";

export type LinkState = "disconnected" | "connecting" | "connected" | "connect_error";

export interface PeerLinkOptions {
  selfId: number;
  selfAddr: string;
  /** Sent in RAFT.HELLO; empty when the cluster has no password. */
  password: string;
  queueMaxBytes: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
/** Room for `*2\r\n$8\r\nRAFT.MSG\r\n$<up to 10 digits>\r\n`. */
const commandHeadroomBytes = 32;

/**
 * `message` as the `RAFT.MSG <binary>` command a peer reads, as the parts to write one after the
 * other: the message encoded in place behind the command's header, except for large entries
 * (and snapshot chunks), which are written as they are, never copied.
 */
export function messageCommand(message: Message, chunk?: Uint8Array): Uint8Array[] {
  return writeMessage(message, chunk, commandHeadroomBytes, WRITE_COPY_MAX_BYTES).framedParts(
    (length) => encoder.encode(`*2\r\n$8\r\nRAFT.MSG\r\n$${length}\r\n`),
    CRLF,
  );
}

export class PeerLink {
  state: LinkState = "disconnected";
  connErrors = 0;
  connOks = 0;
  /** performance.now() of the last connection; 0: never connected. */
  lastConnectedAtMs = 0;
  droppedCount = 0;
  private conn: Deno.TcpConn | null = null;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private writing = false;
  private closed = false;
  /** restart() dropped the connection: its read ends in an error that is no connection error. */
  private restarting = false;
  /** performance.now() of the oldest write the peer has not acknowledged; null: none. */
  private unackedSinceMs: number | null = null;
  /**
   * The peer has sent a progress ack (a reply beyond the hello's), on any connection so far: a
   * node of an older version sends none, and its links are never judged silent.
   */
  private peerAcknowledges = false;
  private backoffMs: number;
  private wake: (() => void) | null = null;

  constructor(
    readonly peerId: number,
    public addr: string,
    private readonly options: PeerLinkOptions,
  ) {
    this.backoffMs = options.reconnectMinMs;
    this.run();
  }

  /** Queue one message (its parts: see `messageCommand`); false when dropped (queue full). */
  send(parts: readonly Uint8Array[]): boolean {
    if (this.closed) return false;
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    if (this.queuedBytes + bytes > this.options.queueMaxBytes && this.queue.length > 0) {
      this.droppedCount++;
      return false;
    }
    this.queue.push(...parts);
    this.queuedBytes += bytes;
    if (this.state === "connected" && !this.writing) this.flush();
    return true;
  }

  /**
   * The peer just connected to us (it has restarted, or its network is back): try now instead
   * of after a backoff that grew while it was away, which can outlast an election timeout.
   */
  retryNow(): void {
    if (this.state === "connected" || this.state === "connecting") return;
    this.backoffMs = this.options.reconnectMinMs;
    this.wake?.();
  }

  /**
   * Drop the connection and what is queued, and connect anew: the peer then closes the old
   * connection, and nothing still queued on it (behind a slow link) reaches it any more.
   */
  restart(): void {
    this.dropQueue();
    if (this.state !== "connected") return;
    this.backoffMs = this.options.reconnectMinMs;
    this.restarting = true;
    this.dropConn();
  }

  /**
   * How long the peer has acknowledged none of what this connection sent it (0: all of it, or a
   * peer that sends no progress acks).
   */
  silentForMs(nowMs: number): number {
    if (this.state !== "connected" || this.unackedSinceMs === null || !this.peerAcknowledges) {
      return 0;
    }
    return Math.max(0, nowMs - this.unackedSinceMs);
  }

  /** Drop a connection the peer has gone silent on (a connection error) and connect anew. */
  dropSilent(): void {
    if (this.state !== "connected") return;
    this.connErrors++;
    this.restart();
  }

  close(): void {
    this.closed = true;
    this.dropConn();
    this.wake?.();
  }

  /** Close the current connection once (a second close would throw BadResource). */
  private dropConn(): void {
    const conn = this.conn;
    this.conn = null;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.state = "connecting";
      try {
        const colon = this.addr.lastIndexOf(":");
        const conn = await withConnectTimeout(
          Deno.connect({
            hostname: this.addr.slice(0, colon),
            port: Number(this.addr.slice(colon + 1)),
          }),
          this.options.connectTimeoutMs,
        );
        conn.setNoDelay(true);
        this.conn = conn;
        if (this.closed) {
          this.dropConn();
          break;
        }
        const hello = ["RAFT.HELLO", String(this.options.selfId), this.options.selfAddr];
        if (this.options.password) hello.push(this.options.password);
        this.unackedSinceMs = performance.now();
        await writeAll(conn, encodeCommand(hello));
        this.state = "connected";
        this.connOks++;
        this.lastConnectedAtMs = performance.now();
        this.backoffMs = this.options.reconnectMinMs;
        // Messages queued while disconnected are stale by now except the newest few; keep them:
        // Raft tolerates duplicates and reordering.
        if (this.queue.length > 0) this.flush();
        await this.readUntilClosed(conn);
      } catch {
        if (!this.restarting) {
          this.connErrors++;
          this.state = "connect_error";
        }
      }
      this.restarting = false;
      this.dropConn();
      if (this.closed) break;
      if (this.state === "connected") this.state = "disconnected";
      this.dropQueue();
      const jitter = this.backoffMs * (0.5 + Math.random() * 0.5);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, jitter);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.reconnectMaxMs);
    }
    this.state = "disconnected";
  }

  private dropQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  /** Read and discard replies; an error reply (bad password, refused) ends the link. */
  private async readUntilClosed(conn: Deno.TcpConn): Promise<void> {
    const scanner = new ReplyScanner();
    const buffer = new Uint8Array(16 * 1024);
    let helloAnswered = false;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      this.unackedSinceMs = null;
      scanner.push(buffer.subarray(0, n));
      for (let frame = scanner.next(); frame !== null; frame = scanner.next()) {
        if (frame[0] === 45 /* '-' */) throw new Error(new TextDecoder().decode(frame));
        if (helloAnswered) this.peerAcknowledges = true;
        helloAnswered = true;
      }
    }
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.conn) {
        this.unackedSinceMs ??= performance.now();
        const batch = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
        for (const part of coalesceForWrite(batch)) await writeAll(this.conn, part);
      }
    } catch {
      this.dropConn();
    } finally {
      this.writing = false;
    }
  }
}
