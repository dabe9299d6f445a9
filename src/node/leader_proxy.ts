/**
 * @module
 * The follower proxy (`--follower-proxy`): a follower forwards data commands to the leader over
 * one pipelined connection and relays the replies. Replies are matched to requests strictly in
 * order; if the leader changes, the connection breaks or a reply is late, the connection is
 * closed and every request still waiting gets an error (its outcome is unknown), so replies can
 * never cross to the wrong request, also across reconnects.
 */
import { type CommandParts, PipelinedConnection } from "../redis/pipelined_connection.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { encodeError } from "../server/replies.ts";
import { encodeCommand } from "../resp/mod.ts";
import { withConnectTimeout } from "../peer/connect_timeout.ts";

const noReplyFromLeader = new TextEncoder().encode("-TIMEOUT no reply from leader\r\n");

export class LeaderProxy {
  private conn: PipelinedConnection | null = null;
  private connecting: Promise<PipelinedConnection> | null = null;
  private addr = "";
  /** Bumped on every reset, so a connect that completes after a reset is discarded. */
  private generation = 0;
  private readonly deadlines: number[] = [];
  readonly stats = { requests: 0, failedRequests: 0, failedResponses: 0 };

  constructor(
    private readonly responseTimeoutMs: () => number,
    /** The nodes' `requirepass`: the connection authenticates first when there is one. */
    private readonly password: () => string,
  ) {}

  get outstanding(): number {
    return this.conn?.inflightCount ?? 0;
  }

  /** Forward `commandBytes` (one command) to the leader at `addr`. */
  forward(addr: string, commandBytes: CommandParts, slot: ReplySlot): void {
    this.stats.requests++;
    if (addr !== this.addr) this.reset(addr);
    const send = (conn: PipelinedConnection) => {
      this.deadlines.push(performance.now() + this.responseTimeoutMs());
      conn.send(commandBytes, 1, (frame) => {
        this.deadlines.shift();
        if (frame === noReplyFromLeader) this.stats.failedResponses++;
        slot.complete(frame);
      }, slot.protocol);
    };
    if (this.conn && !this.conn.isClosed) return send(this.conn);
    this.connecting ??= this.connect(addr);
    this.connecting.then(send, () => {
      this.stats.failedRequests++;
      slot.complete(encodeError("NOTLEADER Failed to proxy command"));
    });
  }

  /**
   * Connect to the leader within the response timeout: an address that drops packets (a
   * partition) would otherwise hold every request queued behind the connect for the kernel's
   * own timeout, minutes.
   */
  private connect(addr: string): Promise<PipelinedConnection> {
    const generation = this.generation;
    return withConnectTimeout(
      PipelinedConnection.connectTcp(addr, noReplyFromLeader),
      this.responseTimeoutMs(),
    ).then((conn) => {
      if (generation !== this.generation) {
        conn.close();
        throw new Error("leader changed while connecting");
      }
      this.conn = conn;
      this.connecting = null;
      const password = this.password();
      // A wrong password shows in the replies that follow (NOAUTH), relayed to the clients.
      if (password) conn.send(encodeCommand(["AUTH", password]), 1, () => {});
      return conn;
    }, (error) => {
      if (generation === this.generation) this.connecting = null;
      throw error;
    });
  }

  /** Close the connection if the oldest request waits too long (called on every tick). */
  checkTimeouts(nowMs: number): void {
    if (this.deadlines.length > 0 && this.deadlines[0] < nowMs) this.reset(this.addr);
  }

  /** Drop the current connection (leader changed): waiting requests get an error. */
  reset(addr = ""): void {
    this.generation++;
    this.addr = addr;
    this.deadlines.length = 0;
    this.conn?.close();
    this.conn = null;
    this.connecting = null;
  }
}
