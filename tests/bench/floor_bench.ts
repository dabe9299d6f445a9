/**
 * @module
 * `deno task bench:floor`: how close can any Deno front end get to plain Redis on this machine?
 * redis-benchmark GET (`-c 50 -P 1`) against plain redis-server (`appendfsync always`) and
 * against `noop_server.ts` (parses, answers nil, no backend), alternating, with each server's
 * CPU per request from /proc/<pid>/stat, and the benchmark client's own CPU per request. Not a
 * test: it bounds what the node can reach. It ends with the CPU budget of the GET goal
 * (0.8× plain Redis): what the machine's cores have per request at that rate, less the client.
 */
import { parseCommandLine } from "../../scripts/command_line.ts";
import { freePort } from "../helpers/node_process.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { redisBenchmark } from "./redis_benchmark.ts";
import { CpuMeter } from "./cpu_usage.ts";

const commandLine = parseCommandLine("usage: floor_bench.ts [--requests n] [--repeat 1..9]", {
  requests: { type: "string", default: "100000" },
  repeat: { type: "string", default: "3" },
});
const requests = commandLine.integer("requests", 1000, 100_000_000);
const repeatCount = commandLine.integer("repeat", 1, 9);
const goalRatio = 0.8;

interface Measured {
  rps: number;
  cpuUs: number;
  clientCpuUs: number;
}

async function benchmark(port: number, pid: number): Promise<Measured> {
  const meter = new CpuMeter([pid]);
  const { rps } = await redisBenchmark({ port, test: "GET", clients: 50, pipeline: 1, requests });
  const { pidsUs: [cpuUs], clientUs: clientCpuUs } = meter.perRequestUs(requests);
  return { rps, cpuUs, clientCpuUs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
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
  console.log(
    "| run | plain redis GET req/s (CPU µs/req) | no-op Deno server req/s (CPU µs/req) | ratio | client CPU µs/req |",
  );
  console.log("|---|---|---|---|---|");
  const plainRuns: Measured[] = [];
  const floorRuns: Measured[] = [];
  for (let run = 1; run <= repeatCount; run++) {
    const base = await benchmark(plain.port, plain.pid);
    const floor = await benchmark(noopPort, noop.pid);
    plainRuns.push(base);
    floorRuns.push(floor);
    console.log(
      `| ${run} | ${Math.round(base.rps)} (${base.cpuUs.toFixed(1)}) | ${Math.round(floor.rps)} (${
        floor.cpuUs.toFixed(1)
      }) | ${(floor.rps / base.rps).toFixed(2)} | ${base.clientCpuUs.toFixed(1)} |`,
    );
  }
  const cores = navigator.hardwareConcurrency;
  const goalRps = goalRatio * median(plainRuns.map((r) => r.rps));
  const machineUs = cores * 1e6 / goalRps;
  const clientUs = median(plainRuns.map((r) => r.clientCpuUs));
  console.log(
    `\nGET at ${goalRatio}× plain (${Math.round(goalRps)} req/s) on ${cores} cores: ` +
      `${machineUs.toFixed(1)} µs of CPU per request for the whole machine; the client takes ` +
      `${clientUs.toFixed(1)}, which leaves ${(machineUs - clientUs).toFixed(1)} µs for the ` +
      `leader, its child and the followers together. The no-op Deno server alone takes ` +
      `${median(floorRuns.map((r) => r.cpuUs)).toFixed(1)}.`,
  );
} finally {
  noop.kill("SIGKILL");
  await noop.status;
  await plain.stop();
}
