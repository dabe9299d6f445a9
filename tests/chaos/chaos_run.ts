/**
 * @module
 * One chaos run, start to verdict: start the cluster, run the workload's concurrent clients and
 * the nemesis schedule for the given time, heal everything, do the final reads, take digests,
 * check, and write `history.jsonl`, `summary.json` and `verdict.txt` to the output folder.
 * Everything started is stopped before returning, also on errors.
 */
import { seededRandom } from "../../src/raft/prng.ts";
import { addCleanup, runCleanups } from "./cleanup.ts";
import { ChaosCluster } from "./cluster_manager.ts";
import { checkConvergence, type DigestSample } from "./checker/convergence.ts";
import { bridgeRule, checkAvailability, slowDiskRule } from "./checker/fault_availability.ts";
import { type Anomaly, type Verdict, verdictOf, worstKind } from "./checker/verdict.ts";
import { History } from "./history.ts";
import { KillNemesis } from "./nemesis/kill.ts";
import { MemberNemesis } from "./nemesis/member.ts";
import type { Nemesis, NemesisContext } from "./nemesis/nemesis.ts";
import { PartitionNemesis } from "./nemesis/partition.ts";
import { PauseNemesis } from "./nemesis/pause.ts";
import { ChildStopNemesis } from "./nemesis/child_stop.ts";
import { SlowDiskNemesis } from "./nemesis/slow_disk.ts";
import { slowDiskAvailable } from "../helpers/slow_disk.ts";
import { SlowLinkNemesis } from "./nemesis/slow_link.ts";
import { defaultTiming, NemesisScheduler, type ScheduleTiming } from "./nemesis/scheduler.ts";
import { snapshotNodeArgs } from "./nemesis/snapshot.ts";
import { TransferNemesis } from "./nemesis/transfer.ts";
import { PowerCutNemesis } from "./nemesis/powercut.ts";
import { ClockNemesis, leaseDriftBound } from "./nemesis/clock.ts";
import { buildPreloadLibrary } from "../helpers/preload_library.ts";
import { LoopbackNetwork, NamespaceNetwork, type Network } from "./network.ts";
import { ClusterClient } from "./workload/cluster_client.ts";
import { CounterWorkload } from "./workload/counter.ts";
import { ExpiryWorkload } from "./workload/expiry.ts";
import { ListAppendWorkload } from "./workload/list_append.ts";
import { QueueWorkload } from "./workload/queue.ts";
import { StreamWorkload } from "./workload/stream.ts";
import { RegisterWorkload } from "./workload/register.ts";
import type { Workload, WorkloadContext } from "./workload/workload.ts";

export const nemesisNames = [
  "kill",
  "pause",
  "partition",
  "member",
  "transfer",
  "snapshot",
  "powercut",
  "clock",
  "childstop",
  "slowlink",
  "slowdisk",
] as const;
export const workloadNames = [
  "register",
  "list-append",
  "stale-list",
  "counter",
  "expiry",
  "queue",
  "stream",
] as const;

export interface RunOptions {
  timeSec: number;
  nemeses: string[];
  workload: string;
  seed: number;
  nodes: number;
  clients: number;
  outDir: string;
  opTimeoutMs: number;
  /** Extra flags for every node. */
  nodeArgs: string[];
  net: "auto" | "netns" | "loopback";
  checkBudgetMs: number;
  /** Upper bound on client operations, whatever the time. */
  opsMax: number;
  timing?: ScheduleTiming;
  /** Faults of different kinds held at once (1: one at a time). */
  overlap?: number;
  /** Print progress lines. */
  verbose?: boolean;
}

export const defaultNodeArgs = [
  "--election-timeout-ms",
  "500",
  "--heartbeat-interval-ms",
  "50",
  "--request-timeout-ms",
  "3000",
  // Below most of the nemeses' holds (2–8 s), so `childstop` on a leader hands it over.
  "--child-stall-timeout-ms",
  "2000",
];

export interface RunResult {
  kind: "valid" | "invalid" | "unknown";
  verdicts: Verdict[];
  outDir: string;
  summary: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(options: RunOptions): Promise<RunResult> {
  const log = (line: string) =>
    options.verbose && console.log(`[chaos ${new Date().toISOString()}] ${line}`);
  await Deno.mkdir(`${options.outDir}/nodes`, { recursive: true });
  const notes: string[] = [];
  const nodeArgs = [...options.nodeArgs];
  if (options.nemeses.includes("snapshot")) {
    const args = await snapshotNodeArgs();
    if (args) nodeArgs.push(...args);
    else notes.push("snapshot nemesis skipped: the node rejects --log-max-bytes");
  }
  const network = await makeNetwork(options.net);
  for (const name of ["partition", "slowlink"]) {
    if (!network.canPartition && options.nemeses.includes(name)) {
      notes.push(`${name} nemesis skipped: no network namespaces`);
    }
  }
  if (options.nemeses.includes("slowdisk") && !slowDiskAvailable()) {
    notes.push("slowdisk nemesis skipped: no block I/O throttle (needs root and cgroup v1 blkio)");
  }
  addCleanup(() => network.destroy());
  const dataRoot = await Deno.makeTempDir({ prefix: "rrc" });
  addCleanup(() => Deno.remove(dataRoot, { recursive: true }).catch(() => {}));
  const cluster = new ChaosCluster({
    network,
    dataRoot,
    logDir: `${options.outDir}/nodes`,
    nodeArgs,
    powerLossLibrary: options.nemeses.includes("powercut")
      ? await buildPreloadLibrary("power_loss", dataRoot)
      : undefined,
    clockLibrary: options.nemeses.includes("clock")
      ? await buildPreloadLibrary("clock_rate", dataRoot)
      : undefined,
  });
  addCleanup(() => cluster.destroy());
  const sink = await Deno.open(`${options.outDir}/history.jsonl`, {
    create: true,
    write: true,
    truncate: true,
  });
  addCleanup(() => Promise.resolve(sink.close()));
  const history = new History(sink);
  const random = seededRandom(options.seed);
  const anomalies: Anomaly[] = [];
  let verdicts: Verdict[] = [];
  let faults = 0;
  /** From the final heal until every member has the same commit and applied index. */
  let settleMs = -1;
  const started = performance.now();
  try {
    log(`starting ${options.nodes} nodes (${network.kind}) seed=${options.seed}`);
    await cluster.start(options.nodes);
    log(`cluster up: ${cluster.addresses().join(" ")}`);
    const workload = makeWorkload(options.workload);
    const nemeses = makeNemeses(options.nemeses, network, options.nodes, nodeArgs);
    const context: NemesisContext = {
      cluster,
      network,
      random: seededRandom(options.seed ^ 0x5bd1e995),
    };
    const scheduler = new NemesisScheduler(
      nemeses,
      context,
      history,
      options.timing ?? defaultTiming,
      options.overlap ?? 1,
    );
    const schedule = scheduler.run();
    const endMs = performance.now() + options.timeSec * 1000;
    let opsStarted = 0;
    const clients = Array.from({ length: options.clients }, (_, i) => {
      const clientRandom = seededRandom(options.seed + 7919 * (i + 1));
      return new ClusterClient(i, () => cluster.addresses(), clientRandom);
    });
    const progress = setInterval(
      () => log(`${opsStarted} ops, ${scheduler.faults} faults`),
      10_000,
    );
    await Promise.all(clients.map(async (client) => {
      const clientRandom = seededRandom(options.seed + 104_729 * (client.id + 1));
      const workloadContext: WorkloadContext = {
        history,
        random: clientRandom,
        opTimeoutMs: options.opTimeoutMs,
      };
      while (performance.now() < endMs && opsStarted < options.opsMax) {
        opsStarted++;
        await workload.step(client, workloadContext);
        await sleep(clientRandom() * 10);
      }
    }));
    clearInterval(progress);
    scheduler.stop();
    await schedule;
    faults = scheduler.faults;
    log(`workload done (${opsStarted} ops, ${faults} faults); healing`);
    history.nemesis("heal", "start", "heal everything");
    await network.heal();
    await cluster.healProcesses();
    if (options.nemeses.includes("member")) {
      // Back to full size, so that convergence compares as many nodes as the run started with.
      await cluster.reconcileRemovals();
      for (let i = 0; i < 3 && cluster.members.length < options.nodes; i++) {
        history.nemesis("heal", "start", await cluster.addFresh());
      }
    }
    history.nemesis("heal", "stop", `members ${cluster.members.map((n) => n.name).join(",")}`);
    const healedAtMs = performance.now();
    const settled = await cluster.waitStable(60_000);
    settleMs = Math.round(performance.now() - healedAtMs);
    log(`settled ${settled ? "" : "(not) "}after ${settleMs} ms`);
    if (!settled) {
      anomalies.push({
        kind: "no-recovery",
        message: `cluster did not settle within 60 s of healing: ${
          JSON.stringify(await cluster.describe())
        }`,
      });
    }
    const reader = clients[0];
    const finalContext: WorkloadContext = { history, random, opTimeoutMs: options.opTimeoutMs };
    await workload.finalReads(reader, finalContext, 60_000);
    clients.forEach((c) => c.close());
    const samples = await stableDigests(cluster, 30_000);
    if (nodeArgs.includes("--log-max-bytes") && !(await anySnapshotTaken(cluster))) {
      notes.push("snapshot pressure had no effect: no node has files under <dir>/snapshot");
    }
    for (const crash of cluster.crashes()) {
      anomalies.push({ kind: "node-crashed", message: `${crash} (see its log under nodes/)` });
    }
    const ops = history.operations();
    const missingFinals = ops.filter((op) => op.input === "final").length === 0 ||
      !finalReadsSucceeded(history);
    if (missingFinals) {
      anomalies.push({
        kind: "unavailable-after-heal",
        message: "a final read never succeeded after healing",
      });
    }
    log(`checking ${ops.length} ops`);
    verdicts = [
      ...workload.check(ops, options.checkBudgetMs),
      checkConvergence(samples),
      verdictOf("liveness", anomalies, { settleMs }),
      ...(options.nemeses.includes("partition") && network.canPartition
        ? [checkAvailability(history.events, ops, bridgeRule)]
        : []),
      ...(options.nemeses.includes("slowdisk") && slowDiskAvailable()
        ? [checkAvailability(history.events, ops, slowDiskRule)]
        : []),
    ];
  } catch (error) {
    verdicts.push(
      verdictOf("harness", [{
        kind: "harness-error",
        message: String((error as Error).stack ?? error),
      }]),
    );
  } finally {
    await runCleanups();
  }
  const kind = worstKind(verdicts);
  const ops = history.operations();
  const counts: Record<string, number> = {};
  for (const op of ops) counts[`${op.f}:${op.status}`] = (counts[`${op.f}:${op.status}`] ?? 0) + 1;
  const summary = {
    verdict: kind,
    options: { ...options, nodeArgs },
    network: network.kind,
    notes,
    elapsedMs: Math.round(performance.now() - started),
    faults,
    ops: ops.length,
    counts,
    verdicts,
    reproduce: reproduceCommand(options),
  };
  await Deno.writeTextFile(`${options.outDir}/summary.json`, JSON.stringify(summary, null, 2));
  await Deno.writeTextFile(
    `${options.outDir}/verdict.txt`,
    renderVerdicts(kind, verdicts, summary),
  );
  return { kind, verdicts, outDir: options.outDir, summary };
}

async function anySnapshotTaken(cluster: ChaosCluster): Promise<boolean> {
  for (const node of cluster.members) {
    try {
      for await (const _ of Deno.readDir(`${node.spec.dir}/snapshot`)) return true;
    } catch { /* no snapshot dir */ }
  }
  return false;
}

function finalReadsSucceeded(history: History): boolean {
  const finals = history.operations().filter((op) => op.input === "final");
  const keys = new Set(finals.map((op) => op.key));
  return [...keys].every((key) => finals.some((op) => op.key === key && op.status === "ok"));
}

/** Digests once every node reports the same applied index (writes have stopped), bounded. */
async function stableDigests(cluster: ChaosCluster, timeoutMs: number): Promise<DigestSample[]> {
  const deadline = performance.now() + timeoutMs;
  let samples: DigestSample[] = [];
  while (performance.now() < deadline) {
    samples = await cluster.digests();
    const indexes = new Set(samples.map((s) => s.appliedIndex));
    if (samples.length === cluster.members.length && indexes.size === 1) return samples;
    await sleep(500);
  }
  return samples;
}

async function makeNetwork(kind: RunOptions["net"]): Promise<Network> {
  if (kind !== "loopback") {
    await NamespaceNetwork.removeLeftovers();
    const network = await NamespaceNetwork.create();
    if (network) return network;
    if (kind === "netns") {
      throw new Error("network namespaces are not available (need root and ip netns)");
    }
  }
  return new LoopbackNetwork();
}

export function makeWorkload(name: string): Workload {
  switch (name) {
    case "register":
      return new RegisterWorkload();
    case "list-append":
      return new ListAppendWorkload();
    case "stale-list":
      return new ListAppendWorkload(true);
    case "counter":
      return new CounterWorkload();
    case "expiry":
      return new ExpiryWorkload();
    case "queue":
      return new QueueWorkload();
    case "stream":
      return new StreamWorkload();
  }
  throw new Error(`unknown workload ${name} (one of ${workloadNames.join(", ")})`);
}

/** The value of `--name v` or `--name=v` in a node's arguments (the last one given). */
function flagValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) value = args[i + 1];
    else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
  }
  return value;
}

/**
 * With lease reads, how far the clock nemesis may drift a clock: three quarters of what the
 * lease tolerates with these timings (the node's defaults where not given); else undefined.
 */
function leaseDriftMax(nodeArgs: readonly string[]): number | undefined {
  if (flagValue(nodeArgs, "--read-mode") !== "lease") return undefined;
  const electionTimeoutMs = Number(flagValue(nodeArgs, "--election-timeout-ms") ?? 1000);
  const tickIntervalMs = Number(flagValue(nodeArgs, "--tick-interval-ms") ?? 20);
  return 0.75 * leaseDriftBound(electionTimeoutMs, tickIntervalMs);
}

function makeNemeses(
  names: string[],
  network: Network,
  membersTarget: number,
  nodeArgs: readonly string[],
): Nemesis[] {
  const nemeses: Nemesis[] = [];
  for (const name of names) {
    if (name === "kill") nemeses.push(new KillNemesis());
    else if (name === "pause") nemeses.push(new PauseNemesis());
    else if (name === "partition") {
      if (network.canPartition) nemeses.push(new PartitionNemesis());
    } else if (name === "member") nemeses.push(new MemberNemesis(membersTarget));
    else if (name === "transfer") nemeses.push(new TransferNemesis());
    else if (name === "powercut") nemeses.push(new PowerCutNemesis());
    else if (name === "clock") nemeses.push(new ClockNemesis(leaseDriftMax(nodeArgs)));
    else if (name === "childstop") nemeses.push(new ChildStopNemesis());
    else if (name === "slowdisk") nemeses.push(new SlowDiskNemesis());
    else if (name === "slowlink") {
      if (network.canPartition) nemeses.push(new SlowLinkNemesis());
    } else if (name !== "snapshot" && name !== "none") {
      throw new Error(`unknown nemesis ${name} (one of ${nemesisNames.join(", ")})`);
    }
  }
  return nemeses;
}

export function reproduceCommand(options: RunOptions): string {
  const parts = [
    "deno run -A tests/chaos/chaos_main.ts",
    `--time ${options.timeSec}`,
    `--nemesis ${options.nemeses.join(",") || "none"}`,
    `--workload ${options.workload}`,
    `--seed ${options.seed}`,
    `--nodes ${options.nodes}`,
    `--clients ${options.clients}`,
  ];
  if ((options.overlap ?? 1) > 1) parts.push(`--overlap ${options.overlap}`);
  if (options.nodeArgs.join(" ") !== defaultNodeArgs.join(" ")) {
    parts.push(`--node-args='${options.nodeArgs.join(" ")}'`);
  }
  return parts.join(" ");
}

export function renderVerdicts(
  kind: string,
  verdicts: Verdict[],
  summary: Record<string, unknown>,
): string {
  const lines = [`verdict: ${kind}`, `reproduce: ${summary.reproduce}`, ""];
  for (const verdict of verdicts) {
    lines.push(`${verdict.checker}: ${verdict.kind} ${JSON.stringify(verdict.stats)}`);
    for (const anomaly of verdict.anomalies) {
      lines.push(`  [${anomaly.kind}]${anomaly.key ? ` ${anomaly.key}` : ""} ${anomaly.message}`);
      for (const op of anomaly.ops ?? []) lines.push(`    ${op}`);
    }
  }
  const notes = summary.notes as string[] | undefined;
  if (notes?.length) lines.push("", ...notes.map((n) => `note: ${n}`));
  return lines.join("\n") + "\n";
}
