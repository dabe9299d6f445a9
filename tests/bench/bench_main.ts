/**
 * @module
 * `deno task bench [--nodes 1|3]`: redis-benchmark against a plain redis-server with
 * `appendonly yes, appendfsync always` and against redisraft (one node, or the leader of a
 * 3-node cluster) in the same run, and a table of req/s and ratios, plus single-client SET
 * latency. Not a test: figures depend on the machine; the ratios are what we track.
 *
 * After the table, CPU per request by process for the many-client `-P 1` SET and GET rows
 * (`/proc/<pid>/stat`, in the median run): what the machine's cores allow at that cost, against
 * the goal's rate.
 *
 * Two rows are ceilings, not goals: GET with `raft.quorum-reads no` (no read round at all) and
 * SET with `raft.log-fsync no` (no fsync anywhere) show how far this design's request path
 * goes on this machine with the coordination or the durability taken out.
 */
import { parseCommandLine } from "../../scripts/command_line.ts";
import { childPidOf, NodeProcess } from "../helpers/node_process.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { type BenchmarkResult, redisBenchmark } from "./redis_benchmark.ts";
import { CpuMeter } from "./cpu_usage.ts";

const commandLine = parseCommandLine(
  "usage: bench_main.ts [--nodes 1|3|5] [--requests n] [--clients n] [--repeat 1..9]",
  {
    requests: { type: "string", default: "100000" },
    clients: { type: "string", default: "50" },
    nodes: { type: "string", default: "1" },
    repeat: { type: "string", default: "3" },
  },
);
const requests = commandLine.integer("requests", 1000, 100_000_000);
const clients = commandLine.integer("clients", 1, 10_000);
const nodeCount = commandLine.integer("nodes", 1, 5);
/** Requests of each warm-up run (SET and GET, both servers) before the first row. */
const warmupRequestCount = 20_000;
/** Each row runs this many times, alternating plain and ours; the median ratio is reported. */
const repeatCount = commandLine.integer("repeat", 1, 9);

interface Row {
  test: string;
  pipeline: number;
  clients: number;
  /** `CONFIG SET raft.<name> <value>` on every node for this row only (a ceiling row). */
  ceiling?: [name: string, value: string, restore: string];
}
const rows: Row[] = [
  { test: "SET", pipeline: 1, clients },
  { test: "SET", pipeline: 1, clients, ceiling: ["log-fsync", "no", "yes"] },
  { test: "GET", pipeline: 1, clients },
  { test: "GET", pipeline: 1, clients, ceiling: ["quorum-reads", "no", "yes"] },
  { test: "SET", pipeline: 16, clients },
  { test: "GET", pipeline: 16, clients },
  { test: "SET", pipeline: 1, clients: 1 },
];

/** The goals of the many-client `-P 1` rows, as ratios to plain Redis (README). */
const goalRatios: Record<string, Record<string, number>> = {
  "1": { SET: 0.6, GET: 0.7 },
  "3": { SET: 0.5, GET: 0.8 },
};

/** A server's processes whose CPU a run counts: a label each ("leader", "child", ...). */
interface Counted {
  label: string;
  pid: number;
}

interface Measured extends BenchmarkResult {
  /** µs of CPU per request of each counted process, in their order, then the client's. */
  cpuUs: number[];
  clientCpuUs: number;
}

async function benchmark(port: number, row: Row, counted: Counted[]): Promise<Measured> {
  const requestCount = row.clients === 1
    ? Math.min(requests, 10_000)
    : row.pipeline > 1
    ? requests * 4
    : requests;
  const meter = new CpuMeter(counted.map((c) => c.pid));
  const result = await redisBenchmark({ port, ...row, requests: requestCount });
  const { pidsUs, clientUs } = meter.perRequestUs(requestCount);
  return { ...result, cpuUs: pidsUs, clientCpuUs: clientUs };
}

/** "leader 19.4, followers 7.1 + 6.9, children 2.0 + 1.6 + 1.7, client 10.1 = 48.8" (µs) */
function cpuLine(counted: Counted[], run: Measured): string {
  const groups = new Map<string, number[]>();
  counted.forEach((c, i) => groups.set(c.label, [...(groups.get(c.label) ?? []), run.cpuUs[i]]));
  const parts = [...groups].map(([label, us]) =>
    `${us.length > 1 ? plural(label) : label} ${us.map((u) => u.toFixed(1)).join(" + ")}`
  );
  return `${[...parts, `client ${run.clientCpuUs.toFixed(1)}`].join(", ")} = ${
    cpuTotalUs(run).toFixed(1)
  }`;
}

function plural(label: string): string {
  return label === "child" ? "children" : `${label}s`;
}

function cpuTotalUs(run: Measured): number {
  return run.cpuUs.reduce((a, b) => a + b, 0) + run.clientCpuUs;
}

interface Redisraft {
  port: number;
  nodes: NodeProcess[];
  stop: () => Promise<void>;
}

/** The nodes (the one clients use first) and their redis children. */
function countedOf(raft: Redisraft): Counted[] {
  const serving = raft.nodes.find((n) => n.port === raft.port)!;
  const others = raft.nodes.filter((n) => n !== serving);
  const nodes: Counted[] = [
    { label: nodeCount > 1 ? "leader" : "node", pid: serving.process!.pid },
    ...others.map((n) => ({ label: "follower", pid: n.process!.pid })),
  ];
  const children = [serving, ...others].map((n) => ({ label: "child", pid: childPidOf(n.dir)! }));
  return [...nodes, ...children];
}

async function startRedisraft(): Promise<Redisraft> {
  if (nodeCount > 1) {
    const cluster = await TestCluster.start(nodeCount, [], []);
    const leader = await cluster.leader();
    return { port: leader.port, nodes: cluster.nodes, stop: () => cluster.destroy() };
  }
  const node = await NodeProcess.start();
  const client = await node.client();
  await client.call("RAFT.CLUSTER", "INIT");
  for (let i = 0; i < 200; i++) {
    if ((await client.call("SET", "bench:probe", "1")) === "OK") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  client.close();
  return { port: node.port, nodes: [node], stop: () => node.destroy() };
}

async function configureAll(nodes: NodeProcess[], name: string, value: string): Promise<void> {
  for (const node of nodes) {
    const client = await node.client();
    try {
      const reply = await client.call("CONFIG", "SET", `raft.${name}`, value);
      if (reply !== "OK") throw new Error(`CONFIG SET raft.${name} ${value}: ${reply}`);
    } finally {
      client.close();
    }
  }
}

const plain = await startPlainRedis(["--appendonly", "yes", "--appendfsync", "always"]);
const raft = await startRedisraft();
const label = nodeCount > 1 ? `redisraft ${nodeCount} nodes` : "redisraft 1 node";
const plainCounted: Counted[] = [{ label: "redis-server", pid: plain.pid }];
const raftCounted = countedOf(raft);
const cores = navigator.hardwareConcurrency;
const cpuTable: string[] = [
  `CPU per request, µs (/proc/<pid>/stat, the median run of the row), and the rate ${cores} cores allow at that cost when fully used:`,
  "",
  "| test | plain redis | redisraft | plain allows req/s | redisraft allows req/s | goal req/s |",
  "|---|---|---|---|---|---|",
];
const table: string[] = [
  `deno task bench --nodes ${nodeCount}  (redis-benchmark -n ${requests}, x4 when pipelined, -d 16 -r 100000, after ${warmupRequestCount} SET and GET on each server; median ratio of ${repeatCount} runs)`,
  "",
  `| test | clients | pipeline | plain redis fsync always req/s | ${label} req/s | ratio | p50 / p99 ms (plain → ours) |`,
  "|---|---|---|---|---|---|---|",
];
try {
  // Warm-up, not measured: the nodes' JavaScript is compiled and the log preallocated before
  // the first row, so every row measures the steady state (plain Redis gets the same runs).
  for (const port of [plain.port, raft.port]) {
    for (const test of ["SET", "GET"]) {
      await redisBenchmark({ port, test, clients, pipeline: 1, requests: warmupRequestCount });
    }
  }
  for (const row of rows) {
    if (row.ceiling) await configureAll(raft.nodes, row.ceiling[0], row.ceiling[1]);
    const pairs: { base: Measured; ours: Measured }[] = [];
    for (let i = 0; i < repeatCount; i++) {
      pairs.push({
        base: await benchmark(plain.port, row, plainCounted),
        ours: await benchmark(raft.port, row, raftCounted),
      });
    }
    if (row.ceiling) await configureAll(raft.nodes, row.ceiling[0], row.ceiling[2]);
    const test = row.ceiling
      ? `${row.test} (ceiling: ${row.ceiling[0]} ${row.ceiling[1]})`
      : row.test;
    pairs.sort((a, b) => a.ours.rps / a.base.rps - b.ours.rps / b.base.rps);
    const { base, ours } = pairs[Math.floor(pairs.length / 2)];
    table.push(
      `| ${test} | ${row.clients} | ${row.pipeline} | ${Math.round(base.rps)} | ${
        Math.round(ours.rps)
      } | ${
        (ours.rps / base.rps).toFixed(2)
      } | ${base.p50Ms} / ${base.p99Ms} → ${ours.p50Ms} / ${ours.p99Ms} |`,
    );
    console.log(table[table.length - 1]);
    const goalRatio = goalRatios[String(nodeCount)]?.[row.test];
    if (row.clients > 1 && row.pipeline === 1 && !row.ceiling && goalRatio !== undefined) {
      const allows = (run: Measured) => Math.round(cores * 1e6 / cpuTotalUs(run));
      cpuTable.push(
        `| ${row.test} | ${cpuLine(plainCounted, base)} | ${cpuLine(raftCounted, ours)} | ${
          allows(base)
        } | ${allows(ours)} | ${Math.round(goalRatio * base.rps)} (${goalRatio}×) |`,
      );
    }
  }
} finally {
  await plain.stop();
  await raft.stop();
}
console.log("\n" + table.join("\n") + "\n\n" + cpuTable.join("\n"));
