/**
 * @module
 * `deno task bench:floor`: how close can any Deno front end get to plain Redis on this machine?
 * redis-benchmark GET (`-c 50 -P 1`) against plain redis-server (`appendfsync always`) and
 * against `noop_server.ts` (parses, answers nil, no backend), alternating, with each server's
 * CPU per request from /proc/<pid>/stat. Not a test: it bounds what the node can reach.
 */
import { parseArgs } from "node:util";
import { freePort } from "../helpers/node_process.ts";
import { startPlainRedis } from "./plain_redis.ts";
import { redisBenchmark } from "./redis_benchmark.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "100000" },
    repeat: { type: "string", default: "3" },
  },
});
const requests = Number(values.requests);
const repeatCount = Math.max(1, Math.min(9, Number(values.repeat)));
const ticksPerSecond = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function benchmark(port: number, pid: number): Promise<{ rps: number; cpuUs: number }> {
  const before = cpuTicks(pid);
  const { rps } = await redisBenchmark({ port, test: "GET", clients: 50, pipeline: 1, requests });
  return { rps, cpuUs: (cpuTicks(pid) - before) * 1e6 / ticksPerSecond / requests };
}

const plain = await startPlainRedis(["--appendonly", "yes", "--appendfsync", "always"]);
const noopPort = freePort();
const noop = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    new URL("./noop_server.ts", import.meta.url).pathname,
    String(noopPort),
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn(); // deno-fmt-ignore
try {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: noopPort })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  console.log("| run | plain redis GET req/s (CPU µs/req) | no-op Deno server req/s (CPU µs/req) | ratio |");
  console.log("|---|---|---|---|");
  for (let run = 1; run <= repeatCount; run++) {
    const base = await benchmark(plain.port, plain.pid);
    const floor = await benchmark(noopPort, noop.pid);
    console.log(
      `| ${run} | ${Math.round(base.rps)} (${base.cpuUs.toFixed(1)}) | ${Math.round(floor.rps)} (${
        floor.cpuUs.toFixed(1)
      }) | ${(floor.rps / base.rps).toFixed(2)} |`,
    );
  }
} finally {
  noop.kill("SIGKILL");
  await noop.status;
  await plain.stop();
}
