/**
 * @module
 * `make cluster`: runs local nodes on 127.0.0.1:5001.. in the foreground, prefixes each node's
 * log lines with its name, initialises the cluster on the first run (data stays under ./data
 * and is reused next time), prints how to connect, and stops every node on Ctrl-C.
 *
 * It also supervises them, as systemd's Restart=on-failure would: a node that dies (kill -9, or
 * a fatal error such as its redis child exiting) is started again from its data directory after
 * a delay that doubles while restarts keep failing quickly; one that exits cleanly stays down.
 */
import { parseCommandLine } from "./command_line.ts";
import { TextLineStream } from "./text_line_stream.ts";
import { redisCli } from "./redis_cli.ts";

const commandLine = parseCommandLine(
  "usage: cluster.ts [--nodes 1..9] [--base-port port] [--dir path]",
  {
    nodes: { type: "string", default: "1" },
    "base-port": { type: "string", default: "5001" },
    dir: { type: "string", default: "data" },
  },
);
const values = commandLine.values;
const nodeCount = commandLine.integer("nodes", 1, 9);
const basePort = commandLine.integer("base-port", 1, 65535 - 8);
const mainPath = new URL("../src/main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
/** The data directory as a user would type it: ./data, or an absolute path as given. */
const shownDir = values.dir.startsWith("/") ? values.dir : `./${values.dir}`;

/** First delay before restarting a node that died; doubles while it keeps dying quickly. */
const restartDelayMinMs = 500;
const restartDelayMaxMs = 10_000;
/** A node that ran this long before dying is restarted as if for the first time. */
const stableRunMs = 30_000;
/** Quick deaths in a row after which a node is left down. */
const quickRestartsMaxCount = 5;
/** How long a stop waits for the nodes' last lines to be printed. */
const lastLinesWaitMs = 2000;

interface Running {
  name: string;
  port: number;
  process: Deno.ChildProcess;
  startedAtMs: number;
  /** Resolves once the node's output is all printed. */
  printed: Promise<void>;
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
  const printed = Promise.all([pipeLines(name, process.stdout), pipeLines(name, process.stderr)])
    .then(() => {}, () => {});
  return { name, port, process, startedAtMs: performance.now(), printed };
}

function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

/** Restarts node `index` each time it dies, until it exits cleanly or keeps dying. */
async function supervise(index: number): Promise<void> {
  let delayMs = restartDelayMinMs;
  let quickRestarts = 0;
  for (;;) {
    const node = running[index];
    const status = await node.process.status;
    if (stopping) return;
    if (status.success) {
      console.log(`[cluster] ${node.name} stopped (exit code 0); not restarting it`);
      return;
    }
    if (performance.now() - node.startedAtMs >= stableRunMs) {
      quickRestarts = 0;
      delayMs = restartDelayMinMs;
    }
    if (++quickRestarts > quickRestartsMaxCount) {
      console.log(
        `[cluster] ${node.name} died ${quickRestartsMaxCount} times within ${stableRunMs} ms of ` +
          `starting; leaving it down (see its log lines above)`,
      );
      return;
    }
    console.log(
      `[cluster] ${node.name} died (${describeExit(status)}); restarting it in ${delayMs} ms`,
    );
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (stopping) return;
    running[index] = start(index);
    delayMs = Math.min(delayMs * 2, restartDelayMaxMs);
  }
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

/** The nodes that are not cluster members (removed, or never joined). */
async function nonMembers(): Promise<Running[]> {
  const infos = await raftInfos();
  return running.filter((_, i) => isUninitialized(infos[i]));
}

/** Each running node's `INFO raft`, in the order of `running`. */
function raftInfos(): Promise<string[]> {
  return Promise.all(running.map((node) => redisCli(node.port, "INFO", "raft")));
}

function isUninitialized(info: string): boolean {
  return /raft_state:uninitialized/.test(info);
}

/**
 * The leader's port, once every member serves a read (redis-cli -c follows MOVED to it): a node
 * that has just joined may not know the leader yet, and a new leader answers CLUSTERDOWN until
 * its first entry is applied, so the banner waits for what a newcomer's first command needs.
 */
async function findLeader(): Promise<number | string> {
  for (let i = 0; i < 100; i++) {
    const infos = await raftInfos();
    const members = running.filter((_, index) => !isUninitialized(infos[index]));
    const served = await Promise.all(
      members.map((node) => redisCli(node.port, "-c", "EXISTS", "cluster-ready-check")),
    );
    if (members.length > 0 && served.every((reply) => /^\d+$/.test(reply))) {
      const leader = running.find((_, index) => /raft_role:leader/.test(infos[index]));
      if (leader) return leader.port;
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
  // Their last lines (how the stop went) are still in the pipes.
  await Promise.race([
    Promise.all(running.map((node) => node.printed)),
    new Promise((resolve) => setTimeout(resolve, lastLinesWaitMs)),
  ]);
  Deno.exit(code);
}
Deno.addSignalListener("SIGINT", () => stopAll(0));
Deno.addSignalListener("SIGTERM", () => stopAll(0));
Deno.addSignalListener("SIGHUP", () => stopAll(0));

/** True when nothing listens on 127.0.0.1:`port` (another run of this script, say). */
function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

// Otherwise the checks below would talk to whatever holds the ports, and report its cluster.
const taken = Array.from({ length: nodeCount }, (_, i) => basePort + i).filter((p) => !portFree(p));
if (taken.length > 0) {
  console.log(
    `[cluster] port(s) ${taken.join(", ")} on 127.0.0.1 already in use (another make cluster?); ` +
      `stop it, or choose other ports with --base-port`,
  );
  Deno.exit(1);
}
for (let i = 0; i < nodeCount; i++) running.push(start(i));
const states = await Promise.all(running.map((node) => waitReady(node.port)));
// A fresh directory: every node uninitialized (one removed earlier stays out, see below).
if (states.every((state) => state === "uninitialized")) {
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
[cluster] A node that dies is started again (try kill -9 on a node's process_id from INFO server
          and watch another take over); Ctrl-C stops every node; data stays in ${shownDir}.
`);
for (const node of await nonMembers()) {
  console.log(
    `[cluster] ${node.name} (port ${node.port}) is not a member (removed, or never joined); ` +
      `redis-cli -p ${node.port} RAFT.CLUSTER JOIN 127.0.0.1:${leaderPort} adds it back`,
  );
}
await Promise.all(running.map((_, index) => supervise(index)));
if (!stopping) {
  console.log("[cluster] no node is running any more");
  await stopAll(1);
}
