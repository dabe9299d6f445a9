/**
 * @module
 * Command line for a chaos run, e.g.
 * `deno run -A tests/chaos/chaos_main.ts --time 600 --nemesis kill,pause,partition,member
 * --workload list-append --seed 7`. Exit code: 0 valid, 1 anomalies found, 2 unknown (a checker
 * ran out of budget), 3 bad arguments.
 */
import { exitWithUsage, parseCommandLine } from "../../scripts/command_line.ts";
import { defaultNodeArgs, nemesisNames, runChaos, workloadNames } from "./chaos_run.ts";
import { overlapMaxCount } from "./nemesis/scheduler.ts";

const usage = `usage: chaos_main.ts [--time s] [--nemesis ${nemesisNames.join(",")}|none]
  [--workload ${workloadNames.join("|")}] [--seed n] [--nodes 3|5] [--clients n]
  [--out dir] [--op-timeout-ms n] [--node-args='...'] [--net auto|netns|loopback]
  [--check-budget-ms n] [--ops-max n] [--overlap 1..${overlapMaxCount}]`;

/** Exit code of bad arguments (0, 1 and 2 are verdicts). */
const badArgumentsExitCode = 3;

function main(): Promise<number> {
  const { values } = parseCommandLine(usage, {
    time: { type: "string", default: "60" },
    nemesis: { type: "string", default: "kill,pause,partition" },
    workload: { type: "string", default: "list-append" },
    seed: { type: "string" },
    nodes: { type: "string", default: "3" },
    clients: { type: "string", default: "10" },
    out: { type: "string" },
    "op-timeout-ms": { type: "string", default: "5000" },
    "node-args": { type: "string" },
    net: { type: "string", default: "auto" },
    "check-budget-ms": { type: "string", default: "120000" },
    "ops-max": { type: "string", default: "1000000" },
    overlap: { type: "string", default: "1" },
  }, badArgumentsExitCode);
  const seed = values.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(values.seed);
  const net = values.net as "auto" | "netns" | "loopback";
  const numbers = [values.time, values.nodes, values.clients, values["op-timeout-ms"], seed].map(
    Number,
  );
  const overlap = Number(values.overlap);
  if (
    numbers.some((n) => !Number.isFinite(n) || n < 0) ||
    !(Number.isInteger(overlap) && overlap >= 1 && overlap <= overlapMaxCount) ||
    !["auto", "netns", "loopback"].includes(net)
  ) {
    exitWithUsage(usage, "bad numeric argument, --overlap or --net", badArgumentsExitCode);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return runChaos({
    timeSec: Number(values.time),
    nemeses: values.nemesis === "none" ? [] : values.nemesis.split(",").filter(Boolean),
    workload: values.workload,
    seed,
    nodes: Number(values.nodes),
    clients: Number(values.clients),
    outDir: values.out ?? `out/chaos/${stamp}`,
    opTimeoutMs: Number(values["op-timeout-ms"]),
    nodeArgs: values["node-args"]?.split(" ").filter(Boolean) ?? defaultNodeArgs,
    net,
    checkBudgetMs: Number(values["check-budget-ms"]),
    opsMax: Number(values["ops-max"]),
    overlap,
    verbose: true,
  }).then(async (result) => {
    console.log(await Deno.readTextFile(`${result.outDir}/verdict.txt`));
    console.log(`output: ${result.outDir}`);
    return result.kind === "valid" ? 0 : result.kind === "invalid" ? 1 : 2;
  });
}

Deno.exit(await main());
