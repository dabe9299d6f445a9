/**
 * @module
 * The node's open client connections (peers' inbound links included, as RedisRaft's peers are
 * plain clients of each other), by CLIENT ID: what CLIENT LIST, INFO and KILL work on.
 */
import type { ClientSession } from "./client_session.ts";

export class ClientRegistry {
  private readonly byId = new Map<number, ClientSession>();

  get size(): number {
    return this.byId.size;
  }

  add(session: ClientSession): void {
    this.byId.set(session.id, session);
  }

  delete(session: ClientSession): void {
    this.byId.delete(session.id);
  }

  get(id: number): ClientSession | undefined {
    return this.byId.get(id);
  }

  /** Every open connection, oldest first (Redis lists clients in creation order too). */
  all(): IterableIterator<ClientSession> {
    return this.byId.values();
  }
}
