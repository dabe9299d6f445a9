/**
 * @module
 * A minimal raw RESP client for tests that need exact reply bytes or hostile input (the
 * friendly client, npm:redis, hides both). Errors come back as `RespError` values, not throws.
 */
import { decodeReply, encodeCommand, ReplyScanner } from "../../src/resp/mod.ts";

export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}

export type Reply = string | number | bigint | null | RespError | Reply[] | Uint8Array;

export class RespClient {
  private readonly scanner = new ReplyScanner();
  private readonly frames: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(private readonly conn: Deno.TcpConn) {
    this.readLoop();
  }

  static async connect(port: number): Promise<RespClient> {
    return new RespClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** True once the server closed the connection. */
  get closedByServer(): boolean {
    return this.ended;
  }

  async call(...args: (string | Uint8Array)[]): Promise<Reply> {
    await this.sendRaw(encodeCommand(args));
    return await this.read();
  }

  /** Send many commands in one write; read all replies. */
  async pipeline(commands: (string | Uint8Array)[][]): Promise<Reply[]> {
    const parts = commands.map((c) => encodeCommand(c));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const data = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      data.set(p, offset);
      offset += p.length;
    }
    await this.sendRaw(data);
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
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ended) throw new Error("connection closed by server");
      if (Date.now() > deadline) throw new Error("timed out waiting for a reply");
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    return toReply(decodeReply(this.frames.shift()!));
  }

  /** Resolves true once the server has closed the connection (within the timeout). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  private async readLoop(): Promise<void> {
    const buffer = new Uint8Array(1 << 20);
    try {
      while (true) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        this.scanner.push(buffer.subarray(0, n));
        for (let f = this.scanner.next(); f !== null; f = this.scanner.next()) this.frames.push(f);
        this.waiter?.();
      }
    } catch { /* reset */ }
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
