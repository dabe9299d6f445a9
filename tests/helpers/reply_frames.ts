/**
 * @module
 * The reading half shared by the test RESP clients: a loop that splits a connection's bytes into
 * reply frames, a queue of them, and a bounded wait for the next one; plus the decoding of a frame
 * into a test-friendly `Reply` (errors as `RespError` values, bulk strings as text).
 */
import { decodeReply, encodeCommand, ReplyScanner } from "../../src/resp/mod.ts";
import { concatBytes } from "../../src/resp/bytes.ts";

export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}

export type Reply = string | number | bigint | null | RespError | Reply[] | Uint8Array;

export class ReplyFrames {
  private readonly scanner = new ReplyScanner();
  private readonly frames: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  /** True once the connection ended (closed by either side, or reset). */
  ended = false;

  constructor(conn: Deno.Conn, bufferBytes: number) {
    this.readLoop(conn, new Uint8Array(bufferBytes));
  }

  /** The next reply, or "ended" / "timeout"; waits at most until `deadlineMs` (performance.now). */
  async next(deadlineMs: number): Promise<Reply | "ended" | "timeout"> {
    const frame = await this.nextFrame(deadlineMs);
    return typeof frame === "string" ? frame : frameReply(frame);
  }

  /** The next reply's raw bytes, or "ended" / "timeout" (see `next`). */
  async nextFrame(deadlineMs: number): Promise<Uint8Array | "ended" | "timeout"> {
    while (this.frames.length === 0) {
      if (this.ended) return "ended";
      const leftMs = deadlineMs - performance.now();
      if (leftMs <= 0) return "timeout";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(leftMs, 100));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.frames.shift()!;
  }

  /** Wake a waiter after the owner closed the connection. */
  markEnded(): void {
    this.ended = true;
    this.waiter?.();
  }

  private async readLoop(conn: Deno.Conn, buffer: Uint8Array): Promise<void> {
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        this.scanner.push(buffer.subarray(0, n));
        for (let f = this.scanner.next(); f !== null; f = this.scanner.next()) this.frames.push(f);
        this.waiter?.();
      }
    } catch { /* reset or closed by us */ }
    this.markEnded();
  }
}

/** Several commands encoded into one buffer, to send in one write. */
export function encodeCommands(commands: (string | Uint8Array)[][]): Uint8Array {
  return concatBytes(commands.map((c) => encodeCommand(c)));
}

/** A reply frame decoded for tests (errors as `RespError`, bulk strings as text). */
export function frameReply(frame: Uint8Array): Reply {
  return toReply(decodeReply(frame));
}

function toReply(value: unknown): Reply {
  if (value instanceof Error) return new RespError(value.message);
  if (Array.isArray(value)) return value.map(toReply);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return value as Reply;
}
