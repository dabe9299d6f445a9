/**
 * @module
 * `deno task bench:snapshot [--keys 1000000]`: time to take a snapshot of a large dataset and
 * to ship and install it on a joining node, against plain redis-server's BGSAVE and a file
 * copy of its RDB in the same run, and the joining node's memory (RSS) during the transfer.
 * The dataset is made with DEBUG POPULATE in the leader's child (through RAFT.DEBUG EXEC), so
 * it is in the snapshot but not in the log: only the snapshot path is measured.
 */
import { parseCommandLine } from "../../scripts/command_line.ts";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { RespClient } from "../helpers/resp_client.ts";

const commandLine = parseCommandLine("usage: snapshot_bench.ts [--keys n] [--value-bytes n]", {
  keys: { type: "string", default: "1000000" },
  "value-bytes": { type: "string", default: "100" },
});
const keys = String(commandLine.integer("keys", 1, 100_000_000));
const valueBytes = String(commandLine.integer("value-bytes", 1, 1024 * 1024));

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function plainRedis(): Promise<{ bgsaveMs: number; copyMs: number; rdbBytes: number }> {
  const redis = await startPlainRedis(["--enable-debug-command", "yes"]);
  try {
    const client = await RespClient.connect(redis.port);
    await client.call("DEBUG", "POPULATE", keys, "key", valueBytes);
    const started = performance.now();
    await client.call("BGSAVE");
    await waitFor(
      async () => /rdb_bgsave_in_progress:0/.test(String(await client.call("INFO", "persistence"))),
      "BGSAVE",
      600_000,
    );
    const bgsaveMs = performance.now() - started;
    const copyStarted = performance.now();
    await Deno.copyFile(`${redis.dir}/dump.rdb`, `${redis.dir}/copy.rdb`);
    const copyMs = performance.now() - copyStarted;
    const rdbBytes = (await Deno.stat(`${redis.dir}/dump.rdb`)).size;
    client.close();
    return { bgsaveMs, copyMs, rdbBytes };
  } finally {
    await redis.stop();
  }
}

async function redisraft(): Promise<
  { takeMs: number; shipMs: number; rssGrowthBytes: number; snapshotBytes: number }
> {
  const leader = await NodeProcess.start();
  const joiner = await NodeProcess.start();
  try {
    const client = await leader.client();
    await client.call("RAFT.CLUSTER", "INIT");
    await waitFor(async () => (await client.call("EXISTS", "x")) === 0, "leader ready");
    await client.call("RAFT.DEBUG", "EXEC", "DEBUG", "POPULATE", keys, "key", valueBytes);
    const takeStarted = performance.now();
    await client.call("RAFT.DEBUG", "COMPACT");
    const takeMs = performance.now() - takeStarted;
    const snapshotBytes = Number(
      /raft_snapshot_size:(\d+)/.exec(String(await client.call("INFO", "raft")))![1],
    );
    const baseline = rssBytes(joiner.process!.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(joiner.process!.pid));
    }, 20);
    const shipStarted = performance.now();
    const joinClient = await joiner.client();
    await joinClient.call("RAFT.CLUSTER", "JOIN", leader.addr);
    await waitFor(
      async () => {
        const info = String(await joinClient.call("INFO", "raft"));
        return /raft_snapshots_received:1/.test(info) &&
          Number(await joinClient.call("RAFT.DEBUG", "EXEC", "DBSIZE")) >= Number(keys);
      },
      "the snapshot to be installed",
      600_000,
    );
    const shipMs = performance.now() - shipStarted;
    clearInterval(sampler);
    joinClient.close();
    client.close();
    return { takeMs, shipMs, rssGrowthBytes: peak - baseline, snapshotBytes };
  } finally {
    await leader.destroy();
    await joiner.destroy();
  }
}

const plain = await plainRedis();
const ours = await redisraft();
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const ms = (n: number) => Math.round(n);
console.log(`deno task bench:snapshot --keys ${keys} (values of ${valueBytes} bytes)

| measure | plain redis | redisraft | ratio |
|---|---|---|---|
| snapshot (BGSAVE / RAFT.DEBUG COMPACT) | ${ms(plain.bgsaveMs)} ms | ${ms(ours.takeMs)} ms | ${
  (ours.takeMs / plain.bgsaveMs).toFixed(2)
} |
| ship and install on a new node (BGSAVE + copy / join via snapshot) | ${
  ms(plain.bgsaveMs + plain.copyMs)
} ms | ${ms(ours.shipMs)} ms | ${(ours.shipMs / (plain.bgsaveMs + plain.copyMs)).toFixed(2)} |
| RDB / snapshot size | ${mb(plain.rdbBytes)} MB | ${mb(ours.snapshotBytes)} MB | |
| joining node RSS growth during the transfer | | ${mb(ours.rssGrowthBytes)} MB | |`);
