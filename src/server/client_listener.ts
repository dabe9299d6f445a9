/**
 * @module
 * Accepts client (and peer) connections on the node's address and serves each in its own
 * session. Beyond `clientsMaxCount` a new connection gets Redis's max-clients error and is
 * closed, unless its first command is a peer's RAFT.HELLO: peers share the clients' port, and a
 * node whose clients filled it must still hear from a peer that reconnects (a follower's
 * answers, a candidate's votes), or a full leader would lose its quorum. A failed accept (out of
 * descriptors, say) is logged and tried again shortly: the connection waits in the kernel's
 * backlog meanwhile, and the node keeps serving the others.
 */
import { encodeError } from "./replies.ts";
import { Errors } from "./errors.ts";
import { ClientSession, type CommandHandler, type SessionLimits } from "./client_session.ts";
import type { ClientRegistry } from "./client_registry.ts";

/** How long the listener waits after a failed accept before it tries again. */
export const acceptRetryDelayMs = 100;
/** Failed accepts are logged at most this often (with how many failed since). */
const acceptErrorLogIntervalMs = 10_000;
/** Connections beyond maxclients waiting at once to show whether they are peers. */
export const overCapacityPendingMaxCount = 8;
/** How long a connection beyond maxclients has to say RAFT.HELLO before it is refused. */
export const overCapacityHelloTimeoutMs = 2000;

export class ClientListener {
  private readonly listener: Deno.TcpListener;
  private closed = false;
  private acceptErrorsUnlogged = 0;
  private acceptErrorLoggedAtMs = -Infinity;
  /** Sessions beyond maxclients that have not yet said RAFT.HELLO. */
  private readonly overCapacity = new Set<ClientSession>();

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
        // As Redis's tcp-keepalive: a client whose machine vanished (no FIN ever comes) is
        // dropped after the system's keepalive time instead of holding its slot for good.
        conn.setKeepAlive(true);
      } catch { /* not fatal */ }
      const full = this.sessions.size >= this.limits.clientsMaxCount ||
        !this.sessions.hasDescriptorFor();
      if (full && this.pendingOverCapacity() >= overCapacityPendingMaxCount) {
        conn.write(encodeError(Errors.maxClients)).catch(() => {}).finally(() => conn.close());
        continue;
      }
      const session = new ClientSession(conn, this.handler, this.limits);
      if (full) this.holdOverCapacity(session);
      this.sessions.add(session);
      session.serve().finally(() => this.sessions.delete(session));
    }
  }

  /** Lets the command handler admit the session only for a RAFT.HELLO; refuses it at the timeout. */
  private holdOverCapacity(session: ClientSession): void {
    session.state.overCapacity = true;
    this.overCapacity.add(session);
    setTimeout(() => {
      this.overCapacity.delete(session);
      if (session.isOpen && session.state.overCapacity) refuseOverCapacity(session);
    }, overCapacityHelloTimeoutMs);
  }

  private pendingOverCapacity(): number {
    for (const session of this.overCapacity) {
      if (!session.isOpen || !session.state.overCapacity) this.overCapacity.delete(session);
    }
    return this.overCapacity.size;
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

/** Redis's max-clients error, then the connection closes. */
export function refuseOverCapacity(session: ClientSession, slot = session.replies.take()): void {
  slot.closeAfter = true;
  slot.complete(encodeError(Errors.maxClients));
}
