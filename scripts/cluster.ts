/**
 * @module
 * `make cluster`: runs local nodes on 127.0.0.1:5001.. in the foreground, prefixes each node's
 * log lines with its name, initialises the cluster on the first run (data stays under ./data
 * and is reused next time), prints how to connect, and stops every node on Ctrl-C.
 */
import { parseArgs } from "node:util";
import { TextLineStream } from "./text_line_stream.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "1" },
    "base-port": { type: "string", default: "5001" },
    dir: { type: "string", default: "data" },
  },
});
const nodeCount = Number(values.nodes);
const basePort = Number(values["base-port"]);
const mainPath = new URL("../src/main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
/** The data directory as a user would type it: ./data, or an absolute path as given. */
const shownDir = values.dir.startsWith("/") ? values.dir : `./${values.dir}`;

interface Running {
  name: string;
  port: number;
  process: Deno.ChildProcess;
}

const running: Running[] = [];

async function pipeLines(name: string, stream: ReadableStream<Uint8Array>) {
  const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  for await (const line of lines) await Deno.stdout.write(encoder.encode(`[${name}] ${line}\n`));
}

function start(index: number): Running {
  const port = basePort + index;
  const name = `n${index + 1}`;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, "--addr", `127.0.0.1:${port}`, "--dir", `${values.dir}/${name}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  pipeLines(name, process.stdout);
  pipeLines(name, process.stderr);
  return { name, port, process };
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function waitReady(port: number): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const info = await redisCli(port, "INFO", "raft").catch(() => "");
    const state = /raft_state:(\w+)/.exec(info)?.[1];
    if (state) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node on port ${port} did not come up`);
}

async function findLeader(): Promise<number | string> {
  for (let i = 0; i < 100; i++) {
    for (const node of running) {
      const info = await redisCli(node.port, "INFO", "raft").catch(() => "");
      if (/raft_role:leader/.test(info)) return node.port;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return "(none yet)";
}

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const node of running) {
    try {
      node.process.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.all(running.map((node) => node.process.status));
  Deno.exit(code);
}
Deno.addSignalListener("SIGINT", () => stopAll(0));
Deno.addSignalListener("SIGTERM", () => stopAll(0));

for (let i = 0; i < nodeCount; i++) running.push(start(i));
const states = await Promise.all(running.map((node) => waitReady(node.port)));
if (states[0] === "uninitialized") {
  console.log(
    `[cluster] RAFT.CLUSTER INIT on ${basePort}: ${await redisCli(
      basePort,
      "RAFT.CLUSTER",
      "INIT",
    )}`,
  );
  for (let i = 1; i < nodeCount; i++) {
    const reply = await redisCli(running[i].port, "RAFT.CLUSTER", "JOIN", `127.0.0.1:${basePort}`);
    console.log(`[cluster] RAFT.CLUSTER JOIN on ${running[i].port}: ${reply}`);
  }
} else {
  console.log(`[cluster] reusing the existing cluster in ${shownDir}`);
}
const leaderPort = await findLeader();
const ports = running.map((node) => node.port).join(", ");
console.log(`
[cluster] ${nodeCount} node(s) up on 127.0.0.1 port(s) ${ports}; leader on port ${leaderPort}.
[cluster] Any node answers; followers redirect with MOVED, which redis-cli -c follows. Try:
    redis-cli -c -p ${basePort} SET greeting hello
    redis-cli -c -p ${basePort} GET greeting
    redis-cli -p ${basePort} INFO raft
[cluster] Ctrl-C stops every node; data stays in ${shownDir} for the next run.
`);
const exited = await Promise.race(running.map((node) => node.process.status.then(() => node)));
if (!stopping) {
  console.log(`[cluster] ${exited.name} exited; stopping the others`);
  await stopAll(1);
}
