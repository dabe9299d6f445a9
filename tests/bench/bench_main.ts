/**
 * @module
 * `deno task bench [--nodes 1|3]`: redis-benchmark against a plain redis-server with
 * `appendonly yes, appendfsync always` and against redisraft (one node, or the leader of a
 * 3-node cluster) in the same run, and a table of req/s and ratios, plus single-client SET
 * latency. Not a test: figures depend on the machine; the ratios are what we track.
 *
 * Two rows are ceilings, not goals: GET with `raft.quorum-reads no` (no read round at all) and
 * SET with `raft.log-fsync no` (no fsync anywhere) show how far this design's request path
 * goes on this machine with the coordination or the durability taken out.
 */
import { parseArgs } from "node:util";
import { NodeProcess } from "../helpers/node_process.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { type BenchmarkResult, redisBenchmark } from "./redis_benchmark.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "100000" },
    clients: { type: "string", default: "50" },
    nodes: { type: "string", default: "1" },
    repeat: { type: "string", default: "3" },
  },
});
const requests = Number(values.requests);
const clients = Number(values.clients);
const nodeCount = Number(values.nodes);
/** Requests of each warm-up run (SET and GET, both servers) before the first row. */
const warmupRequestCount = 20_000;
/** Each row runs this many times, alternating plain and ours; the median ratio is reported. */
const repeatCount = Math.max(1, Math.min(9, Number(values.repeat)));

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

async function benchmark(port: number, row: Row): Promise<BenchmarkResult> {
  const requestCount = row.clients === 1
    ? Math.min(requests, 10_000)
    : row.pipeline > 1
    ? requests * 4
    : requests;
  return await redisBenchmark({ port, ...row, requests: requestCount });
}

interface Redisraft {
  port: number;
  nodes: NodeProcess[];
  stop: () => Promise<void>;
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
    const pairs: { base: BenchmarkResult; ours: BenchmarkResult }[] = [];
    for (let i = 0; i < repeatCount; i++) {
      pairs.push({ base: await benchmark(plain.port, row), ours: await benchmark(raft.port, row) });
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
  }
} finally {
  await plain.stop();
  await raft.stop();
}
console.log("\n" + table.join("\n"));
