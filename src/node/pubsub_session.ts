/**
 * @module
 * Pub/sub for one client, on the leader only (as RedisRaft): the client's SUBSCRIBE family of
 * commands go to a dedicated connection to the redis child, and every frame the child sends on
 * it (confirmations and messages) is queued to the client in order after its earlier replies.
 * The session leaves pub/sub mode when the child reports zero subscriptions. A subscriber that
 * falls behind by more than the reply buffer limit is disconnected, as Redis does.
 */
import { decodeReply, ReplyScanner } from "../resp/mod.ts";
import type { ClientSession } from "../server/client_session.ts";
import { writeAll } from "../resp/write_all.ts";

export class PubSubSession {
  private readonly conn: Deno.UnixConn;
  private closed = false;
  /** Subscriptions the child reported last; 0 ends pub/sub mode. */
  subscriptionCount = 0;

  private constructor(
    conn: Deno.UnixConn,
    readonly session: ClientSession,
    private readonly replyBufferMaxBytes: number,
    private readonly onEnd: (pubsub: PubSubSession) => void,
  ) {
    this.conn = conn;
    this.readLoop();
  }

  static async open(
    socketPath: string,
    session: ClientSession,
    replyBufferMaxBytes: number,
    onEnd: (pubsub: PubSubSession) => void,
  ): Promise<PubSubSession> {
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    return new PubSubSession(conn, session, replyBufferMaxBytes, onEnd);
  }

  /** Forward a pub/sub command (its replies arrive as frames on this connection). */
  async send(commandBytes: Uint8Array): Promise<void> {
    await writeAll(this.conn, commandBytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
    this.onEnd(this);
  }

  private async readLoop(): Promise<void> {
    const scanner = new ReplyScanner();
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!this.closed) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        scanner.push(buffer.subarray(0, n));
        for (let frame = scanner.next(); frame !== null; frame = scanner.next()) {
          const copy = frame.slice();
          this.session.replies.take().complete(copy);
          this.track(copy);
        }
        if (this.session.replies.unsentBytes > this.replyBufferMaxBytes) {
          this.session.close(); // a slow subscriber, as Redis's client-output-buffer-limit pubsub
          break;
        }
      }
    } catch { /* connection ended */ }
    this.close();
  }

  /** Follow the subscription count in (un)subscribe confirmations. */
  private track(frame: Uint8Array): void {
    if (frame[0] !== 42 /* '*' */) return;
    const reply = decodeReply(frame);
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[2] !== "number") return;
    const kind = String(reply[0]);
    if (kind.endsWith("subscribe")) {
      this.subscriptionCount = reply[2];
      if (this.subscriptionCount === 0 && kind.endsWith("unsubscribe")) this.close();
    }
  }
}
