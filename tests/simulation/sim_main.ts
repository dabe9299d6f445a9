/**
 * Simulation CLI: `deno run tests/simulation/sim_main.ts --seeds N [--seed S]
 * [--steps K] [--nodes 3|5] [--lease] [--profile NAME] [--bug NAME]`. Runs seeds
 * S..S+N-1 (each with its own fault profile unless `--profile` forces one); prints a
 * one-line summary and exits 0, or on failure prints a trace tail, the seed, its profile
 * and the property, and exits 1. `--bug` injects a test-only bug (see `InjectedBugs`).
 *
 * @module
 */

import process from "node:process";
import type { InjectedBugs } from "../../src/raft/mod.ts";
import { type FaultProfile, faultProfiles, runSimulation } from "./simulation.ts";
import { exitWithUsage, parseCommandLine } from "../../scripts/command_line.ts";
import { runPartialPartitions } from "./partial_partition.ts";

/** Every injected bug by name (the compiler checks that none is missing). */
const bugNames: Record<keyof InjectedBugs, true> = {
  commitOldTermEntries: true,
  voteWithoutLogCheck: true,
  readBeforeLeaderCommit: true,
  sendVotesBeforePersist: true,
  ackAppendBeforePersist: true,
  countSelfBeforeFsync: true,
  voteWhileLeaderAlive: true,
  removeWithoutQuorumCheck: true,
};

const usage =
  `usage: sim_main.ts [--seeds n] [--seed first] [--steps n] [--nodes 3|5] [--lease] [--quiet]
  [--profile ${faultProfiles.join("|")}]
  [--bug ${Object.keys(bugNames).join("|")}]
  [--partial-partitions rounds]   bridges and rings instead of the fault mix (partial_partition.ts)`;

const commandLine = parseCommandLine(usage, {
  seeds: { type: "string", default: "100" },
  seed: { type: "string", default: "1" },
  steps: { type: "string", default: "4000" },
  nodes: { type: "string", default: "3" },
  lease: { type: "boolean", default: false },
  quiet: { type: "boolean", default: false },
  profile: { type: "string" },
  bug: { type: "string" },
  "partial-partitions": { type: "string" },
});
const values = commandLine.values;
const seeds = commandLine.integer("seeds", 1, 1_000_000_000);
const first = commandLine.integer("seed", 0, Number.MAX_SAFE_INTEGER);
const steps = commandLine.integer("steps", 1, 1_000_000_000);
const nodes = commandLine.integer("nodes", 3, 5);
if (nodes !== 3 && nodes !== 5) exitWithUsage(usage, "--nodes must be 3 or 5");
const profile = values.profile as FaultProfile | undefined;
if (profile !== undefined && !faultProfiles.includes(profile)) {
  exitWithUsage(usage, `--profile must be one of ${faultProfiles.join(", ")}`);
}
if (values.bug !== undefined && !Object.hasOwn(bugNames, values.bug)) {
  exitWithUsage(usage, `--bug must be one of ${Object.keys(bugNames).join(", ")}`);
}
const partialRounds = values["partial-partitions"] === undefined
  ? undefined
  : commandLine.integer("partial-partitions", 1, 1_000_000);
const injectedBugs: InjectedBugs | undefined = values.bug === undefined
  ? undefined
  : { [values.bug]: true };

const started = performance.now();
let writes = 0;
let reads = 0;
let elections = 0;
let snapshots = 0;
let changes = 0;
for (let seed = first; seed < first + seeds; seed++) {
  const options = { seed, nodes, leaseReads: values.lease, injectedBugs } as const;
  const result = partialRounds === undefined
    ? runSimulation({ ...options, steps, profile })
    : runPartialPartitions({ ...options, rounds: partialRounds });
  writes += result.stats.writesAcked;
  reads += result.stats.readsChecked;
  elections += result.stats.elections;
  snapshots += result.stats.snapshotsInstalled;
  changes += result.stats.membershipChanges;
  if (!result.ok) {
    console.log(result.trace.slice(values.quiet ? -40 : 0).join("\n"));
    console.log(
      `\nFAILED seed=${seed} profile=${result.profile} property=${result.property}\n${result.failure}`,
    );
    console.log(
      `reproduce: deno run tests/simulation/sim_main.ts --seeds 1 --seed ${seed} --steps ${steps} --nodes ${nodes}${
        values.lease ? " --lease" : ""
      }${profile ? ` --profile ${profile}` : ""}${values.bug ? ` --bug ${values.bug}` : ""}${
        partialRounds ? ` --partial-partitions ${partialRounds}` : ""
      }`,
    );
    process.exit(1);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `ok: ${seeds} seeds (${first}..${first + seeds - 1}) x ${
    partialRounds ? `${partialRounds} partial partitions` : `${steps} steps`
  }, ${nodes} nodes${
    values.lease ? ", lease reads" : ""
  }: ${writes} writes acked, ${reads} reads checked, ${elections} elections, ${snapshots} snapshots installed, ${changes} membership changes in ${
    seconds.toFixed(1)
  }s`,
);
