/**
 * @module
 * Accepts client (and peer) connections on the node's address and serves each in its own
 * session. Beyond `clientsMaxCount` a new connection gets Redis's max-clients error and is
 * closed. A failed accept (out of descriptors, say) is logged and tried again shortly: the
 * connection waits in the kernel's backlog meanwhile, and the node keeps serving the others.
 */
import { encodeError } from "./replies.ts";
import { ClientSession, type CommandHandler, type SessionLimits } from "./client_session.ts";
import type { ClientRegistry } from "./client_registry.ts";

/** How long the listener waits after a failed accept before it tries again. */
export const acceptRetryDelayMs = 100;
/** Failed accepts are logged at most this often (with how many failed since). */
const acceptErrorLogIntervalMs = 10_000;

export class ClientListener {
  private readonly listener: Deno.TcpListener;
  private closed = false;
  private acceptErrorsUnlogged = 0;
  private acceptErrorLoggedAtMs = -Infinity;

  constructor(
    hostname: string,
    port: number,
    private readonly handler: CommandHandler,
    private readonly limits: SessionLimits & { clientsMaxCount: number },
    private readonly sessions: ClientRegistry,
    private readonly log: { warning(message: string): void },
  ) {
    this.listener = Deno.listen({ hostname, port, transport: "tcp" });
  }

  async serve(): Promise<void> {
    while (!this.closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.listener.accept();
      } catch (error) {
        if (this.closed) return;
        this.acceptFailed(error);
        await new Promise((resolve) => setTimeout(resolve, acceptRetryDelayMs));
        continue;
      }
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
  }

  private acceptFailed(error: unknown): void {
    this.acceptErrorsUnlogged++;
    const nowMs = performance.now();
    if (nowMs - this.acceptErrorLoggedAtMs < acceptErrorLogIntervalMs) return;
    const more = this.acceptErrorsUnlogged > 1 ? ` (${this.acceptErrorsUnlogged} failed)` : "";
    this.log.warning(
      `Accepting client connection: ${(error as Error)?.message ?? error}${more}; ` +
        `${this.sessions.size} connected, maxclients ${this.limits.clientsMaxCount}`,
    );
    this.acceptErrorLoggedAtMs = nowMs;
    this.acceptErrorsUnlogged = 0;
  }

  close(): void {
    this.closed = true;
    try {
      this.listener.close();
    } catch { /* already closed */ }
    for (const session of [...this.sessions.all()]) session.close();
  }
}
