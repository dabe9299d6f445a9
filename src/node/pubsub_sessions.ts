/**
 * @module
 * The leader's pub/sub sessions, one per subscribed client (see PubSubSession): opened by a
 * client's first SUBSCRIBE-family command, ended when the client leaves pub/sub mode or
 * disconnects, and all closed, their clients disconnected, when the node stops leading.
 */
import type { ClientRegistry } from "../server/client_registry.ts";
import type { ClientSession } from "../server/client_session.ts";
import { Errors } from "../server/errors.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { encodeError } from "../server/replies.ts";
import { PubSubSession } from "./pubsub_session.ts";

export class PubSubSessions {
  private readonly sessions = new Set<PubSubSession>();

  constructor(
    private readonly socketPath: () => string,
    private readonly replyBufferMaxBytes: () => number,
    /** The client connections, whose descriptors the subscribers' connections share. */
    private readonly clients: ClientRegistry,
  ) {}

  /** The client already has a session (opened or opening). */
  has(session: ClientSession): boolean {
    return session.state.pubsub !== undefined;
  }

  /** Relay a pub/sub command for `session`, opening its connection to the child first if needed. */
  send(
    session: ClientSession,
    commandBytes: Uint8Array,
    slot: ReplySlot,
    answer?: (reply: Uint8Array) => Uint8Array,
  ): void {
    let pending = session.state.pubsub as Promise<PubSubSession | null> | undefined;
    if (!pending) {
      // Its connection to the child takes a descriptor, as a client's connection does.
      if (!this.clients.hasDescriptorFor()) return slot.complete(encodeError(Errors.maxClients));
      this.clients.subscribedCount++;
      let counted = true;
      const release = () => {
        if (counted) this.clients.subscribedCount--;
        counted = false;
      };
      pending = PubSubSession.open(
        this.socketPath(),
        session,
        this.replyBufferMaxBytes(),
        (ended) => {
          release();
          this.sessions.delete(ended);
          if (session.state.pubsub === pending) {
            delete session.state.pubsub;
            delete session.state.subscriptions;
          }
        },
      ).then((opened) => {
        this.sessions.add(opened);
        if (!session.isOpen) opened.close(); // the client left while it opened
        return opened;
      }, () => {
        // Out of descriptors, or the child away: the commands sent meanwhile fail, a later one
        // tries again.
        release();
        if (session.state.pubsub === pending) {
          delete session.state.pubsub;
          delete session.state.subscriptions;
        }
        return null;
      });
      session.state.pubsub = pending;
    }
    // The slot gets the frames the child answers the command with (see PubSubSession).
    pending.then((pubsub) => {
      if (!pubsub) return slot.complete(encodeError("ERR pub/sub is unavailable"));
      pubsub.send(commandBytes, slot, answer);
    });
  }

  /** Commands the child has not answered for `maxWaitMs` get `reply` (see PubSubSession). */
  expire(nowMs: number, maxWaitMs: number, reply: Uint8Array): void {
    for (const pubsub of this.sessions) pubsub.expire(nowMs, maxWaitMs, reply);
  }

  /** The client left: its connection to the child would stay subscribed for good. */
  closeOf(session: ClientSession): void {
    for (const pubsub of [...this.sessions]) if (pubsub.session === session) pubsub.close();
  }

  /** The node stopped leading: every subscriber is disconnected, as RedisRaft does. */
  disconnectAll(): void {
    for (const pubsub of [...this.sessions]) {
      pubsub.close();
      pubsub.session.close();
    }
  }
}
