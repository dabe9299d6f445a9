/**
 * @module
 * Reads from one chosen node's own state, as a Redis Cluster client reads from a replica: one
 * connection per node, `READONLY` sent once when it opens, then the read. No redirects, no
 * retries: the answer (or refusal) is that node's. Lets the stale-list workload check what
 * `READONLY` and `--read-mode stale` promise per node (never older than it served before).
 */
import { type Reply, RespConnection, RespError } from "../resp_connection.ts";
import type { Outcome } from "./cluster_client.ts";

export class ReplicaReader {
  private readonly connections = new Map<string, RespConnection>();

  /** Run `command` on `addr` over its READONLY connection. */
  async read(addr: string, command: string[], timeoutMs: number): Promise<Outcome> {
    const deadline = performance.now() + timeoutMs;
    let connection = this.connections.get(addr);
    if (!connection || connection.closed) {
      this.connections.delete(addr);
      try {
        connection = await RespConnection.connect(addr, Math.min(1000, timeoutMs));
        const readonly = await connection.call(["READONLY"], remainingMs(deadline));
        if (readonly !== "OK") {
          connection.close();
          return { kind: "fail", detail: `${addr}: READONLY answered ${describe(readonly)}` };
        }
      } catch (error) {
        connection?.close();
        return { kind: "fail", detail: `${addr}: ${(error as Error).message}` };
      }
      this.connections.set(addr, connection);
    }
    let reply: Reply;
    try {
      reply = await connection.call(command, remainingMs(deadline));
    } catch (error) {
      this.connections.delete(addr);
      return { kind: "info", detail: `${addr}: ${(error as Error).message}` };
    }
    if (reply instanceof RespError) return { kind: "fail", detail: `${addr}: ${reply.message}` };
    return { kind: "ok", replies: [reply] };
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}

function remainingMs(deadline: number): number {
  return Math.max(deadline - performance.now(), 1);
}

function describe(reply: Reply): string {
  return reply instanceof RespError ? reply.message : JSON.stringify(reply);
}
