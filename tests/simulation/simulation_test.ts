/**
 * CI batch of the cluster simulation: 2,000 seeds across 3-node, 5-node and
 * lease-read clusters; each seed draws its fault profile (half baseline, half one of the
 * targeted profiles in `simulation.ts`). A failure names the seed, its profile and the CLI
 * line to reproduce it.
 *
 * @module
 */

import { runSimulation, type SimOptions } from "./simulation.ts";

function runBatch(first: number, count: number, options: Omit<SimOptions, "seed">): void {
  for (let seed = first; seed < first + count; seed++) {
    const result = runSimulation({ ...options, seed });
    if (!result.ok) {
      throw new Error(
        `seed ${seed} (profile ${result.profile}) violated ${result.property}: ${result.failure}\n` +
          result.trace.slice(-60).join("\n") +
          `\nreproduce: deno run tests/simulation/sim_main.ts --seeds 1 --seed ${seed} --steps ${options.steps} --nodes ${options.nodes}${
            options.leaseReads ? " --lease" : ""
          }`,
      );
    }
  }
}

Deno.test("3-node clusters stay safe and live under faults (1,200 seeds)", () => {
  runBatch(1, 1200, { steps: 3000, nodes: 3 });
});

Deno.test("5-node clusters stay safe and live under faults (400 seeds)", () => {
  runBatch(100_001, 400, { steps: 3000, nodes: 5 });
});

Deno.test("lease reads stay linearizable under faults (400 seeds)", () => {
  runBatch(200_001, 400, { steps: 3000, nodes: 3, leaseReads: true });
});

Deno.test("plain Raft's liveness phase stops a removed node that never learned it was removed (seeds 812299, 812974)", () => {
  // At seed 812299 such a node's elections deposed every leader before its removal could commit
  // (see stopNodesRemovedByAll); since the core's probe fix (f0c5e7e) that seed no longer gets
  // there; 812974 is one where the liveness phase stops such a node (one seed in four or five of
  // this profile is; 812976 was until leaders sent heartbeats while they sync).
  const profile = "crash-after-vote";
  for (const seed of [812_299, 812_974]) {
    const result = runSimulation({ seed, steps: 20_000, nodes: 3, profile });
    if (!result.ok) throw new Error(`seed ${seed}: ${result.property}: ${result.failure}`);
  }
  const result = runSimulation({ seed: 812_974, steps: 20_000, nodes: 3, profile });
  const stopped = result.trace.filter((line) => line.includes("left out by every member's"));
  if (stopped.length === 0) {
    throw new Error(`no node was stopped:\n${result.trace.slice(-20).join("\n")}`);
  }
});
