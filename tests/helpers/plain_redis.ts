/**
 * @module
 * A plain redis-server (the benchmarks' baseline, the tests' reference) on 127.0.0.1 and a free
 * port, in a temporary directory, stopped (by its own pid) and cleaned up by `stop()`.
 */
import { freePort } from "./node_process.ts";

export interface PlainRedis {
  port: number;
  pid: number;
  dir: string;
  stop: () => Promise<void>;
}

export async function startPlainRedis(extraArgs: string[]): Promise<PlainRedis> {
  const dir = await Deno.makeTempDir({ prefix: "plain-redis-" });
  const port = freePort();
  const process = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...extraArgs],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    pid: process.pid,
    dir,
    stop: async () => {
      process.kill("SIGKILL");
      await process.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
