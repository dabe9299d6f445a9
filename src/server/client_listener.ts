/**
 * @module
 * Accepts client (and peer) connections on the node's address and serves each in its own
 * session. Beyond `clientsMaxCount` a new connection gets Redis's max-clients error and is
 * closed.
 */
import { encodeError } from "./replies.ts";
import { ClientSession, type CommandHandler, type SessionLimits } from "./client_session.ts";
import type { ClientRegistry } from "./client_registry.ts";

export class ClientListener {
  private readonly listener: Deno.TcpListener;
  private closed = false;

  constructor(
    hostname: string,
    port: number,
    private readonly handler: CommandHandler,
    private readonly limits: SessionLimits & { clientsMaxCount: number },
    private readonly sessions: ClientRegistry,
  ) {
    this.listener = Deno.listen({ hostname, port, transport: "tcp" });
  }

  async serve(): Promise<void> {
    try {
      for await (const conn of this.listener) {
        try {
          conn.setNoDelay(true);
        } catch { /* not fatal */ }
        if (this.sessions.size >= this.limits.clientsMaxCount) {
          conn.write(encodeError("ERR max number of clients reached")).catch(() => {}).finally(() =>
            conn.close()
          );
          continue;
        }
        const session = new ClientSession(conn, this.handler, this.limits);
        this.sessions.add(session);
        session.serve().finally(() => this.sessions.delete(session));
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  close(): void {
    this.closed = true;
    try {
      this.listener.close();
    } catch { /* already closed */ }
    for (const session of [...this.sessions.all()]) session.close();
  }
}
