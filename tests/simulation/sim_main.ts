/**
 * Simulation CLI: `deno run tests/simulation/sim_main.ts --seeds N [--seed S]
 * [--steps K] [--nodes 3|5] [--lease]`. Runs seeds S..S+N-1; on failure prints the
 * seed, the property and a trace tail, and exits 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { runSimulation } from "./simulation.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    steps: { type: "string", default: "4000" },
    nodes: { type: "string", default: "3" },
    lease: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});

const seeds = Number(values.seeds);
const first = Number(values.seed);
const steps = Number(values.steps);
const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) throw new Error("--nodes must be 3 or 5");

const started = performance.now();
let writes = 0;
let reads = 0;
let elections = 0;
let snapshots = 0;
let changes = 0;
for (let seed = first; seed < first + seeds; seed++) {
  const result = runSimulation({ seed, steps, nodes, leaseReads: values.lease });
  writes += result.stats.writesAcked;
  reads += result.stats.readsChecked;
  elections += result.stats.elections;
  snapshots += result.stats.snapshotsInstalled;
  changes += result.stats.membershipChanges;
  if (!result.ok) {
    console.log(result.trace.join("\n"));
    console.log(`\nFAILED seed=${seed} property=${result.property}\n${result.failure}`);
    console.log(
      `reproduce: deno run tests/simulation/sim_main.ts --seeds 1 --seed ${seed} --steps ${steps} --nodes ${nodes}${
        values.lease ? " --lease" : ""
      }`,
    );
    process.exit(1);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `ok: ${seeds} seeds (${first}..${first + seeds - 1}) x ${steps} steps, ${nodes} nodes${
    values.lease ? ", lease reads" : ""
  }: ${writes} writes acked, ${reads} reads checked, ${elections} elections, ${snapshots} snapshots installed, ${changes} membership changes in ${
    seconds.toFixed(1)
  }s`,
);
