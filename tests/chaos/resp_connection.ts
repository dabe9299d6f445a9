/**
 * @module
 * A raw RESP connection to any host:port for the chaos harness, where every call has a deadline.
 * A connection that timed out or broke is closed and unusable afterwards (its replies would be
 * out of step), so callers reconnect. Errors come back as `RespError` values, not throws;
 * transport problems throw `ConnectionLost` (`sent` tells whether the request left us).
 */
import { decodeReply, encodeCommand, ReplyScanner } from "../../src/resp/mod.ts";
import { type Reply, RespError } from "../helpers/resp_client.ts";

export { type Reply, RespError };

export class ConnectionLost extends Error {
  constructor(message: string, readonly sent: boolean) {
    super(message);
  }
}

export class RespConnection {
  private readonly scanner = new ReplyScanner();
  private readonly frames: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(private readonly conn: Deno.TcpConn, readonly addr: string) {
    this.readLoop();
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
    return this.ended;
  }

  /** Send one command and wait for its reply. */
  async call(args: string[], timeoutMs: number): Promise<Reply> {
    return (await this.pipeline([args], timeoutMs))[0];
  }

  /** Send commands in one write and wait for all their replies, within one deadline. */
  async pipeline(commands: string[][], timeoutMs: number): Promise<Reply[]> {
    if (this.ended) throw new ConnectionLost(`connection to ${this.addr} is closed`, false);
    const deadline = performance.now() + timeoutMs;
    const parts = commands.map((c) => encodeCommand(c));
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      data.set(part, offset);
      offset += part.length;
    }
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
      if (this.frames.length > 0) {
        replies.push(toReply(decodeReply(this.frames.shift()!)));
        continue;
      }
      if (this.ended) throw new ConnectionLost(`connection to ${this.addr} closed`, true);
      const leftMs = deadline - performance.now();
      if (leftMs <= 0) {
        this.close();
        throw new ConnectionLost(`no reply from ${this.addr} within ${timeoutMs} ms`, true);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(leftMs, 1000));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return replies;
  }

  close(): void {
    this.ended = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.waiter?.();
  }

  private async readLoop(): Promise<void> {
    const buffer = new Uint8Array(1 << 16);
    try {
      while (true) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        this.scanner.push(buffer.subarray(0, n));
        for (let f = this.scanner.next(); f !== null; f = this.scanner.next()) this.frames.push(f);
        this.waiter?.();
      }
    } catch { /* reset or closed by us */ }
    this.ended = true;
    this.waiter?.();
  }
}

function toReply(value: unknown): Reply {
  if (value instanceof Error) return new RespError(value.message);
  if (Array.isArray(value)) return value.map(toReply);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return value as Reply;
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
