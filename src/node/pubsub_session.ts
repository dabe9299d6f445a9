/**
 * @module
 * Pub/sub for one client, on the leader only (as RedisRaft): the client's SUBSCRIBE family of
 * commands (and PING, RESET) go to a dedicated connection to the redis child. Each is followed
 * there by a marker PING, so the frames the child sends before the marker's answer (the
 * command's confirmations, and messages published meanwhile) become that command's reply, in
 * the client's reply order: a reply the node makes itself for a later command (an error, QUIT's
 * OK) never overtakes them. Frames with no command waiting (messages) queue to the client as
 * they come. The session ends when the child reports zero subscriptions or answers RESET, once
 * the markers sent before are answered. A subscriber that falls behind by more than the reply
 * buffer limit is disconnected, as Redis does. A RESP3 client's connection speaks RESP3 too
 * (messages and confirmations are push frames), and follows the client's HELLO.
 */
import { decodeReply, encodeCommand, ReplyScanner } from "../resp/mod.ts";
import { concatBytes } from "../resp/bytes.ts";
import type { ClientSession } from "../server/client_session.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { encodeError } from "../server/replies.ts";
import { writeAll } from "../resp/write_all.ts";

/** A relayed command whose reply is still being collected. */
interface Waiting {
  /** Null for the connection's own HELLO, whose reply nobody reads. */
  slot: ReplySlot | null;
  answer?: (reply: Uint8Array) => Uint8Array;
  /** The marker PING's argument that ends this command's frames. */
  token: string;
  frames: Uint8Array[];
  bytes: number;
  sentAtMs: number;
}

const unavailable = encodeError("ERR pub/sub is unavailable");

export class PubSubSession {
  private readonly conn: Deno.UnixConn;
  private closed = false;
  /** Subscriptions the child reported last; 0 ends pub/sub mode. */
  subscriptionCount = 0;
  /** The child left pub/sub mode (no subscriptions, or RESET): end once `waiting` is empty. */
  private ending = false;
  private readonly waiting: Waiting[] = [];
  private readonly markerPrefix = `redisraft-marker-${crypto.randomUUID()}-`;
  private markerCount = 0;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    conn: Deno.UnixConn,
    readonly session: ClientSession,
    private readonly replyBufferMaxBytes: number,
    private readonly onEnd: (pubsub: PubSubSession) => void,
  ) {
    this.conn = conn;
    if (session.replies.protocol === 3) this.relay(encodeCommand(["HELLO", "3"]), null);
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

  /**
   * Relay a pub/sub command; `slot` gets every frame the child sends until its marker (rewritten
   * by `answer`, if given).
   */
  send(
    commandBytes: Uint8Array,
    slot: ReplySlot,
    answer?: (reply: Uint8Array) => Uint8Array,
  ): void {
    if (this.closed) return slot.complete(unavailable);
    this.relay(commandBytes, slot, answer);
  }

  private relay(
    commandBytes: Uint8Array,
    slot: ReplySlot | null,
    answer?: (reply: Uint8Array) => Uint8Array,
  ): void {
    const token = this.markerPrefix + ++this.markerCount;
    this.waiting.push({ slot, answer, token, frames: [], bytes: 0, sentAtMs: performance.now() });
    const bytes = concatBytes([commandBytes, encodeCommand(["PING", token])]);
    this.writes = this.writes.then(() => writeAll(this.conn, bytes)).catch(() => this.close());
  }

  /**
   * A command the child has not answered for `maxWaitMs` (it is stopped, or stuck): its client
   * gets `reply`, and is disconnected, since what it is subscribed to is no longer known.
   */
  expire(nowMs: number, maxWaitMs: number, reply: Uint8Array): void {
    const oldest = this.waiting[0];
    if (this.closed || oldest === undefined || nowMs - oldest.sentAtMs < maxWaitMs) return;
    for (const waiting of this.waiting.splice(0)) waiting.slot?.complete(reply);
    this.close();
    this.session.replies.closeConnection(); // once the replies before are written
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.waiting.splice(0)) waiting.slot?.complete(unavailable);
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
          if (this.deliver(frame.slice())) return;
        }
        if (this.session.replies.unsentBytes > this.replyBufferMaxBytes) {
          this.session.close(); // a slow subscriber, as Redis's client-output-buffer-limit pubsub
          break;
        }
      }
    } catch { /* connection ended */ }
    if (!this.closed) {
      // The child's side ended: the client would believe it is still subscribed.
      this.close();
      this.session.close();
    }
  }

  /** Routes one frame from the child; true once the session has ended. */
  private deliver(frame: Uint8Array): boolean {
    const head = this.waiting[0];
    if (head === undefined) {
      if (frame[0] === 62 /* '>' */) this.session.replies.pushOutOfBand(frame);
      else this.session.replies.take().complete(frame);
    } else if (isMarker(frame, head.token)) {
      this.waiting.shift();
      const reply = head.frames.length === 1 ? head.frames[0] : concatBytes(head.frames);
      head.slot?.complete(head.answer ? head.answer(reply) : reply);
      if (this.ending && this.waiting.length === 0) {
        this.close();
        return true;
      }
      return false;
    } else {
      head.frames.push(frame);
      head.bytes += frame.length;
      if (head.bytes > this.replyBufferMaxBytes) {
        this.session.close();
        this.close();
        return true;
      }
    }
    this.track(frame);
    return false;
  }

  /** Follow the subscription count in (un)subscribe confirmations; RESET leaves pub/sub. */
  private track(frame: Uint8Array): void {
    if (frame[0] === 43 /* '+' */) {
      if (decodeReply(frame) === "RESET") this.ending = true;
      return;
    }
    if (frame[0] !== 42 /* '*' */ && frame[0] !== 62 /* '>' push */) return;
    const reply = decodeReply(frame);
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[2] !== "number") return;
    const kind = String(reply[0]);
    if (kind.endsWith("unsubscribe")) {
      this.subscriptionCount = reply[2];
      if (this.subscriptionCount === 0) this.ending = true;
    } else if (kind.endsWith("subscribe")) {
      this.subscriptionCount = reply[2];
      this.ending = false;
    }
  }
}

/** The marker PING's answer: `["pong", token]` in pub/sub mode, the bulk `token` outside it. */
function isMarker(frame: Uint8Array, token: string): boolean {
  if (frame[0] !== 42 /* '*' */ && frame[0] !== 36 /* '$' */) return false;
  const reply = decodeReply(frame);
  if (typeof reply === "string") return reply === token;
  return Array.isArray(reply) && reply.length === 2 && reply[0] === "pong" && reply[1] === token;
}
