/**
 * @module
 * `deno task bench`: redis-benchmark against a plain redis-server with `appendonly yes,
 * appendfsync always` and against a redisraft node, in the same run, and a table of req/s and
 * the ratio. Not a test: figures depend on the machine; ratios are what we track.
 */
import { parseArgs } from "node:util";
import { freePort, NodeProcess } from "../helpers/node_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "200000" },
    clients: { type: "string", default: "50" },
    nodes: { type: "string", default: "1" },
  },
});
const requests = Number(values.requests);
const clients = Number(values.clients);

interface Row {
  test: string;
  pipeline: number;
}
const rows: Row[] = [
  { test: "SET", pipeline: 1 },
  { test: "GET", pipeline: 1 },
  { test: "SET", pipeline: 16 },
  { test: "GET", pipeline: 16 },
];

async function benchmark(port: number, row: Row): Promise<number> {
  const n = row.pipeline > 1 ? requests * 4 : requests;
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-c",
      String(clients),
      "-n",
      String(n),
      "-P",
      String(row.pipeline),
      "-t",
      row.test.toLowerCase(),
      "-r",
      "100000",
      "-d",
      "16",
      "--csv",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output(); // deno-fmt-ignore
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith(`"${row.test}"`));
  if (!line) throw new Error(`redis-benchmark gave no ${row.test} line:\n${text}`);
  return Number(line.split(",")[1].replaceAll('"', ""));
}

async function startPlainRedis(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "bench-redis-" });
  const port = freePort();
  const process = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn(); // deno-fmt-ignore
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
    stop: async () => {
      process.kill("SIGKILL");
      await process.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function startRedisraft(): Promise<{ port: number; stop: () => Promise<void> }> {
  const node = await NodeProcess.start();
  const client = await node.client();
  await client.call("RAFT.CLUSTER", "INIT");
  for (let i = 0; i < 200; i++) {
    if ((await client.call("SET", "bench:probe", "1")) === "OK") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  client.close();
  return { port: node.port, stop: () => node.destroy() };
}

const plain = await startPlainRedis();
const raft = await startRedisraft();
const table: string[] = [
  `redis-benchmark -c ${clients} -n ${requests} (x4 when pipelined) -d 16 -r 100000`,
  "",
  "| test | pipeline | plain redis (fsync always) req/s | redisraft 1 node req/s | ratio |",
  "|---|---|---|---|---|",
];
try {
  for (const row of rows) {
    const base = await benchmark(plain.port, row);
    const ours = await benchmark(raft.port, row);
    table.push(
      `| ${row.test} | ${row.pipeline} | ${Math.round(base)} | ${Math.round(ours)} | ${
        (ours / base).toFixed(2)
      } |`,
    );
    console.log(table[table.length - 1]);
  }
} finally {
  await plain.stop();
  await raft.stop();
}
console.log("\n" + table.join("\n"));
