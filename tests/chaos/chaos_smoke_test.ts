/**
 * @module
 * CI smoke test of the chaos harness against real node processes: seven short runs with
 * different workloads and nemeses (about 5 minutes in all), each of which must end with zero
 * anomalies. Histories and verdicts stay under out/chaos/smoke-* for inspection.
 */
import assert from "node:assert/strict";
import { defaultNodeArgs, runChaos, type RunOptions } from "./chaos_run.ts";

const runs: Pick<RunOptions, "workload" | "nemeses" | "timeSec" | "seed">[] = [
  // A stopped child, and a link slowed to a trickle: late heartbeats, retransmits, no stale reads.
  {
    workload: "register",
    nemeses: ["kill", "pause", "transfer", "childstop", "slowlink"],
    timeSec: 30,
    seed: 101,
  },
  // Power cuts lose what the logs had not synced: no acknowledged append may go with it.
  {
    workload: "list-append",
    nemeses: ["partition", "member", "kill", "snapshot", "powercut"],
    timeSec: 40,
    seed: 202,
  },
  // A node's clock runs from half to twice real time: ReadIndex reads and increments never care.
  {
    workload: "counter",
    nemeses: ["partition", "pause", "snapshot", "clock"],
    timeSec: 30,
    seed: 303,
  },
  // Reads from each node's own state (READONLY) never go back, restarts included.
  { workload: "stale-list", nemeses: ["kill", "transfer", "snapshot"], timeSec: 30, seed: 505 },
  // Restarts replay the log after keys' deadlines: every node must still agree on them.
  { workload: "expiry", nemeses: ["kill", "pause", "snapshot"], timeSec: 30, seed: 404 },
  // Blocked pops across leader changes: each element reaches at most one consumer, in order.
  { workload: "queue", nemeses: ["kill", "partition", "transfer"], timeSec: 30, seed: 606 },
  // Consumer groups through failovers and snapshots: no entry delivered twice, no pending lost.
  {
    workload: "stream",
    nemeses: ["kill", "pause", "snapshot", "transfer"],
    timeSec: 30,
    seed: 707,
  },
];

for (const run of runs) {
  Deno.test({
    name: `chaos smoke: ${run.workload} under ${
      run.nemeses.join("+")
    } for ${run.timeSec} s has no anomalies`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const result = await runChaos({
        ...run,
        nodes: 3,
        clients: 6,
        outDir: `out/chaos/smoke-${run.workload}-${run.seed}`,
        opTimeoutMs: 5000,
        nodeArgs: defaultNodeArgs,
        net: "auto",
        checkBudgetMs: 30_000,
        opsMax: 200_000,
        timing: { quietMsMin: 1000, quietMsMax: 3000, holdMsMin: 2000, holdMsMax: 5000 },
      });
      const report = await Deno.readTextFile(`${result.outDir}/verdict.txt`);
      assert.equal(result.kind, "valid", report);
    },
  });
}
