/**
 * @module
 * A raw RESP connection to any host:port for the chaos harness, where every call has a deadline.
 * A connection that timed out or broke is closed and unusable afterwards (its replies would be
 * out of step), so callers reconnect. Errors come back as `RespError` values, not throws;
 * transport problems throw `ConnectionLost` (`sent` tells whether the request left us).
 */
import { encodeCommands, type Reply, ReplyFrames, RespError } from "../helpers/reply_frames.ts";

export { type Reply, RespError };

export class ConnectionLost extends Error {
  constructor(message: string, readonly sent: boolean) {
    super(message);
  }
}

export class RespConnection {
  private readonly frames: ReplyFrames;

  private constructor(private readonly conn: Deno.TcpConn, readonly addr: string) {
    this.frames = new ReplyFrames(conn, 1 << 16);
  }

  static async connect(addr: string, timeoutMs: number): Promise<RespConnection> {
    const colon = addr.lastIndexOf(":");
    const hostname = addr.slice(0, colon);
    const port = Number(addr.slice(colon + 1));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname, port });
    try {
      const conn = await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new ConnectionLost(`connect to ${addr} timed out`, false)),
            timeoutMs,
          );
        }),
      ]);
      return new RespConnection(conn, addr);
    } catch (error) {
      connecting.then((conn) => conn.close()).catch(() => {});
      if (error instanceof ConnectionLost) throw error;
      throw new ConnectionLost(`connect to ${addr}: ${(error as Error).message}`, false);
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.frames.ended;
  }

  /** Send one command and wait for its reply. */
  async call(args: string[], timeoutMs: number): Promise<Reply> {
    return (await this.pipeline([args], timeoutMs))[0];
  }

  /** Send commands in one write and wait for all their replies, within one deadline. */
  async pipeline(commands: string[][], timeoutMs: number): Promise<Reply[]> {
    if (this.frames.ended) {
      throw new ConnectionLost(`connection to ${this.addr} is closed`, false);
    }
    const deadline = performance.now() + timeoutMs;
    const data = encodeCommands(commands);
    try {
      for (let written = 0; written < data.length;) {
        written += await this.conn.write(data.subarray(written));
      }
    } catch (error) {
      this.close();
      // Part of the request may have reached the server.
      throw new ConnectionLost(`write to ${this.addr}: ${(error as Error).message}`, true);
    }
    const replies: Reply[] = [];
    while (replies.length < commands.length) {
      const reply = await this.frames.next(deadline);
      if (reply === "ended") throw new ConnectionLost(`connection to ${this.addr} closed`, true);
      if (reply === "timeout") {
        this.close();
        throw new ConnectionLost(`no reply from ${this.addr} within ${timeoutMs} ms`, true);
      }
      replies.push(reply);
    }
    return replies;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.frames.markEnded();
  }
}

/** One RESP call on a fresh connection (admin use: INFO, RAFT.*). */
export async function callOnce(addr: string, args: string[], timeoutMs = 3000): Promise<Reply> {
  const connection = await RespConnection.connect(addr, timeoutMs);
  try {
    return await connection.call(args, timeoutMs);
  } finally {
    connection.close();
  }
}
