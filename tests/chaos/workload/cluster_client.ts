/**
 * @module
 * A workload client: one connection at a time to some node, following `-MOVED` to the leader
 * and retrying while an attempt surely did not execute (MOVED, CLUSTERDOWN, LOADING, NOCLUSTER,
 * connection refused), all within the operation's deadline; after a timeout the next operation
 * starts from any node. Anything else that leaves the outcome open (TIMEOUT, a connection lost
 * after sending, no reply in time, an unexpected error) is indeterminate; it is never turned
 * into a failure.
 */
import { ConnectionLost, type Reply, RespConnection, RespError } from "../resp_connection.ts";
import { ReplicaReader } from "./replica_reader.ts";

export interface RunOptions {
  /** Index of the reply that decides the outcome (default: the last). */
  decisive?: number;
  /**
   * Run only on the current connection, never redirect or retry (for commands that depend on
   * session state such as WATCH): any refusal is a failure.
   */
  sameConnection?: boolean;
}

export type Outcome =
  | { kind: "ok"; replies: Reply[]; detail?: string }
  | { kind: "fail"; detail: string }
  | { kind: "info"; detail: string };

/** Errors that prove the command was not executed. */
const definitelyNotExecuted = /^(MOVED|CLUSTERDOWN|LOADING|NOCLUSTER|TRYAGAIN|EXECABORT)/;

/**
 * Errors after which this node is no use: move to another. Their outcome stays open: a leader
 * being removed or shut down fails its pending writes with them, and those may still commit.
 */
const nodeGone = /^(ERR this node was removed|ERR shutdown)/;

export class ClusterClient {
  private connection: RespConnection | null = null;
  private targetAddr: string | null = null;
  /** Refusals met by the current operation before its outcome, for the history. */
  private refusals: string[] = [];
  /** READONLY connections for reads from one chosen node's own state. */
  readonly replicas = new ReplicaReader();

  constructor(
    readonly id: number,
    private readonly addresses: () => string[],
    private readonly random: () => number,
    /** Retry pause after a no-leader style answer. */
    private readonly backoffMs = 100,
  ) {}

  /**
   * Run `commands` as one pipeline on one connection. `decisive` picks the reply that tells
   * the outcome (e.g. EXEC's for a transaction); any redirect among the replies is followed.
   */
  async run(
    commands: string[][],
    timeoutMs: number,
    { decisive = commands.length - 1, sameConnection = false }: RunOptions = {},
  ): Promise<Outcome> {
    const deadline = performance.now() + timeoutMs;
    let lastRefusal = "no attempt";
    this.refusals = [];
    let attempts = 0;
    while (performance.now() < deadline) {
      if (sameConnection && (attempts++ > 0 || !this.connection || this.connection.closed)) {
        return {
          kind: "fail",
          detail: `not executed: the session's connection is gone (${lastRefusal})`,
        };
      }
      let connection: RespConnection;
      try {
        connection = await this.connect(Math.min(1000, deadline - performance.now()));
      } catch (error) {
        lastRefusal = (error as Error).message;
        this.refusals.push(`${this.targetAddr}: ${lastRefusal}`);
        this.forget(true);
        await sleep(Math.min(this.backoffMs, Math.max(deadline - performance.now(), 0)));
        continue;
      }
      let replies: Reply[];
      try {
        replies = await connection.pipeline(commands, Math.max(deadline - performance.now(), 1));
      } catch (error) {
        const notSent = error instanceof ConnectionLost && !error.sent;
        // A node that took the command and gave no answer in time may sit behind a slow link:
        // the next operation tries any node (a redirect brings it back if it leads).
        this.forget(!notSent);
        if (notSent) {
          lastRefusal = (error as Error).message;
          this.refusals.push(lastRefusal);
          continue;
        }
        return { kind: "info", detail: this.trail((error as Error).message) };
      }
      const redirect = replies.find((r) =>
        r instanceof RespError && r.message.startsWith("MOVED ")
      );
      if (redirect) {
        if (!(replies[decisive] instanceof RespError)) {
          return {
            kind: "info",
            detail: `redirect mixed with a result: ${JSON.stringify(replies)}`,
          };
        }
        this.forget(false);
        this.targetAddr = (redirect as RespError).message.split(" ")[2];
        lastRefusal = (redirect as RespError).message;
        this.refusals.push(lastRefusal);
        continue;
      }
      const answer = replies[decisive];
      if (answer instanceof RespError) {
        if (definitelyNotExecuted.test(answer.message)) {
          lastRefusal = answer.message;
          this.refusals.push(`${connection.addr}: ${lastRefusal}`);
          if (!answer.message.startsWith("EXECABORT")) this.forget(true);
          if (answer.message.startsWith("EXECABORT")) {
            return { kind: "fail", detail: answer.message };
          }
          await sleep(Math.min(this.backoffMs, Math.max(deadline - performance.now(), 0)));
          continue;
        }
        if (nodeGone.test(answer.message)) this.forget(true);
        if (answer.message.startsWith("TIMEOUT")) {
          this.forget(true); // as for no answer: the node may be slow to reach or to decide
          return { kind: "info", detail: this.trail(answer.message) };
        }
        return { kind: "info", detail: this.trail(`unexpected error: ${answer.message}`) };
      }
      return {
        kind: "ok",
        replies,
        detail: this.refusals.length > 0 ? this.trail("ok") : undefined,
      };
    }
    return { kind: "fail", detail: `gave up before executing: ${lastRefusal}` };
  }

  private trail(outcome: string): string {
    const shown = this.refusals.slice(-5).map((r) => r.slice(0, 80));
    return this.refusals.length === 0
      ? outcome
      : `${outcome} after ${this.refusals.length} refusals: ${shown.join(" | ")}`;
  }

  /** The members' addresses now. */
  nodeAddresses(): string[] {
    return this.addresses();
  }

  close(): void {
    this.forget(false);
    this.replicas.close();
  }

  private async connect(timeoutMs: number): Promise<RespConnection> {
    if (this.connection && !this.connection.closed) return this.connection;
    if (!this.targetAddr) {
      const addresses = this.addresses();
      this.targetAddr = addresses[Math.floor(this.random() * addresses.length)];
    }
    this.connection = await RespConnection.connect(this.targetAddr, Math.max(timeoutMs, 1));
    return this.connection;
  }

  /** Drop the connection; with `pickAnother` also the target, so the next attempt tries any node. */
  private forget(pickAnother: boolean): void {
    this.connection?.close();
    this.connection = null;
    if (pickAnother) this.targetAddr = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
