/**
 * @module
 * Shared helpers for the RESP tests: latin1 byte conversion, draining a parser,
 * a seeded PRNG, and a throwaway redis-server on a unix socket.
 */

import { RequestParser } from "../../../src/resp/request_parser.ts";
import { ProtocolError } from "../../../src/resp/protocol_error.ts";

/** Latin1: each char code is one byte, so tests can write any byte as `\xNN`. */
export function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function latin1(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i++) text += String.fromCharCode(data[i]);
  return text;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What a parser made of a stream: the commands (as latin1 strings) and how it ended. */
export interface ParseOutcome {
  commands: string[][];
  error: string | null;
}

/** Feeds `chunks` one at a time, pulling every complete command after each. */
export function parseChunks(
  chunks: readonly Uint8Array[],
  parser = new RequestParser(),
): ParseOutcome {
  // Converted only at the end: arguments must survive later input unchanged.
  const commands: Uint8Array[][] = [];
  const outcome = (error: string | null) => ({
    commands: commands.map((cmd) => cmd.map(latin1)),
    error,
  });
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let cmd = parser.next(); cmd !== null; cmd = parser.next()) commands.push(cmd);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return outcome(error.message);
  }
  return outcome(null);
}

export function parseText(text: string, parser?: RequestParser): ParseOutcome {
  return parseChunks([bytes(text)], parser);
}

/** Splits `data` at the given sorted offsets. */
export function splitAt(data: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const offset of offsets) {
    chunks.push(data.subarray(from, offset));
    from = offset;
  }
  chunks.push(data.subarray(from));
  return chunks;
}

/** mulberry32: tiny, seedable, good enough to drive a fuzzer reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A redis-server on a unix socket in a temp dir, for checking exact wire behaviour. */
export class ThrowawayRedis {
  private constructor(
    readonly socketPath: string,
    private readonly dir: string,
    private readonly child: Deno.ChildProcess,
  ) {}

  static async start(extraArgs: readonly string[] = []): Promise<ThrowawayRedis> {
    const dir = await Deno.makeTempDir({ prefix: "resp_redis_" });
    const socketPath = `${dir}/redis.sock`;
    const child = new Deno.Command("redis-server", {
      args: [
        "--port",
        "0",
        "--unixsocket",
        socketPath,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        ...extraArgs,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const redis = new ThrowawayRedis(socketPath, dir, child);
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        (await Deno.connect({ transport: "unix", path: socketPath })).close();
        return redis;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await redis.stop();
    throw new Error("redis-server did not start");
  }

  /**
   * Sends `request` on a fresh connection and collects the reply until the server
   * closes the connection or stays silent for `idleMs`.
   */
  async exchange(request: Uint8Array, idleMs = 150): Promise<{ reply: string; closed: boolean }> {
    const conn = await Deno.connect({ transport: "unix", path: this.socketPath });
    await conn.write(request);
    const parts: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    let closed = false;
    for (;;) {
      const read = conn.read(buffer);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<"idle">((resolve) => {
        timer = setTimeout(() => resolve("idle"), idleMs);
      });
      const result = await Promise.race([read, idle]);
      clearTimeout(timer);
      if (result === "idle") {
        conn.close();
        await read.catch(() => null);
        break;
      }
      if (result === null) {
        closed = true;
        conn.close();
        break;
      }
      parts.push(buffer.slice(0, result));
    }
    return { reply: latin1(concat(parts)), closed };
  }

  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.child.status;
    await Deno.remove(this.dir, { recursive: true });
  }
}
