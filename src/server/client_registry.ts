/**
 * @module
 * The node's open client connections (peers' inbound links included, as RedisRaft's peers are
 * plain clients of each other), by CLIENT ID: what CLIENT LIST, INFO and KILL work on. It also
 * counts the descriptors they hold, a subscribed client's connection to the child included,
 * against what the open-files limit leaves them (see open_files_limit.ts).
 */
import type { ClientSession } from "./client_session.ts";

export class ClientRegistry {
  private readonly byId = new Map<number, ClientSession>();
  /** Subscribed clients' own connections to the redis child. */
  subscribedCount = 0;

  /** `descriptorsMaxCount`: connections and subscriptions together (Infinity: no bound). */
  constructor(readonly descriptorsMaxCount = Infinity) {}

  get size(): number {
    return this.byId.size;
  }

  /** Whether one more descriptor (a connection, a subscription) stays within the limit. */
  hasDescriptorFor(): boolean {
    return this.byId.size + this.subscribedCount < this.descriptorsMaxCount;
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
