/**
 * @module
 * A minimal raw RESP client for tests that need exact reply bytes or hostile input (the
 * friendly client, npm:redis, hides both). Errors come back as `RespError` values, not throws.
 */
import { encodeCommand } from "../../src/resp/mod.ts";
import { encodeCommands, frameReply, type Reply, ReplyFrames, RespError } from "./reply_frames.ts";

export { type Reply, RespError };

export class RespClient {
  private readonly frames: ReplyFrames;

  private constructor(private readonly conn: Deno.TcpConn) {
    this.frames = new ReplyFrames(conn, 1 << 20);
  }

  static async connect(port: number): Promise<RespClient> {
    return new RespClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** True once the server closed the connection. */
  get closedByServer(): boolean {
    return this.frames.ended;
  }

  async call(...args: (string | Uint8Array)[]): Promise<Reply> {
    await this.sendRaw(encodeCommand(args));
    return await this.read();
  }

  /** Send many commands in one write; read all replies. */
  async pipeline(commands: (string | Uint8Array)[][]): Promise<Reply[]> {
    await this.sendRaw(encodeCommands(commands));
    const replies: Reply[] = [];
    for (let i = 0; i < commands.length; i++) replies.push(await this.read());
    return replies;
  }

  async sendRaw(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Next reply, decoded; null bulk → null; errors → RespError. Throws if the server closed. */
  async read(timeoutMs = 60_000): Promise<Reply> {
    return frameReply(await this.frame(timeoutMs));
  }

  /** Send one command; its reply's exact bytes, as latin1 text (RESP3 types stay visible). */
  async callRaw(...args: (string | Uint8Array)[]): Promise<string> {
    await this.sendRaw(encodeCommand(args));
    return await this.readRaw();
  }

  /** The next reply's exact bytes, as latin1 text. Throws if the server closed. */
  async readRaw(timeoutMs = 60_000): Promise<string> {
    return new TextDecoder("latin1").decode(await this.frame(timeoutMs));
  }

  /** The next reply frame; throws if the server closed or none came within `timeoutMs`. */
  private async frame(timeoutMs: number): Promise<Uint8Array> {
    const frame = await this.frames.nextFrame(performance.now() + timeoutMs);
    if (frame === "ended") throw new Error("connection closed by server");
    if (frame === "timeout") throw new Error("timed out waiting for a reply");
    return frame;
  }

  /** Resolves true once the server has closed the connection (within the timeout). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.frames.ended && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.frames.ended;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** The clients a test opens, closed together when it ends (in its `finally`). */
export class OpenClients {
  private readonly all: RespClient[] = [];

  async connect(port: number): Promise<RespClient> {
    const client = await RespClient.connect(port);
    this.all.push(client);
    return client;
  }

  closeAll(): void {
    for (const client of this.all.splice(0)) client.close();
  }
}
