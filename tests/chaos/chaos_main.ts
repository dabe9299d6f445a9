/**
 * @module
 * Command line for a chaos run, e.g.
 * `deno run -A tests/chaos/chaos_main.ts --time 600 --nemesis kill,pause,partition,member
 * --workload list-append --seed 7`. Exit code: 0 valid, 1 anomalies found, 2 unknown (a checker
 * ran out of budget), 3 bad arguments.
 */
import { parseArgs } from "node:util";
import { defaultNodeArgs, nemesisNames, runChaos, workloadNames } from "./chaos_run.ts";
import { overlapMaxCount } from "./nemesis/scheduler.ts";

const usage = `usage: chaos_main.ts [--time s] [--nemesis ${nemesisNames.join(",")}|none]
  [--workload ${workloadNames.join("|")}] [--seed n] [--nodes 3|5] [--clients n]
  [--out dir] [--op-timeout-ms n] [--node-args='...'] [--net auto|netns|loopback]
  [--check-budget-ms n] [--ops-max n] [--overlap 1..${overlapMaxCount}]`;

function main(): Promise<number> | number {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
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
        help: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 3;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
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
    console.error(`bad numeric argument, --overlap or --net\n${usage}`);
    return 3;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return runChaos({
    timeSec: Number(values.time),
    nemeses: values.nemesis === "none" ? [] : values.nemesis!.split(",").filter(Boolean),
    workload: values.workload!,
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
