/**
 * The simulation bites: each test turns on one test-only bug in the Raft core
 * (`InjectedBugs` in `src/raft/config.ts`) and asserts that the simulation catches it
 * within a stated budget of seeds, naming the property it violates. Seeds are
 * deterministic, so "first caught at seed N" is stable; the budgets leave headroom.
 *
 * Measured over seeds 1..200 (3 nodes), first seed caught and catch rate:
 *
 * | bug                      | profile            | property             | first | rate  |
 * |--------------------------|--------------------|----------------------|-------|-------|
 * | commitOldTermEntries     | isolate-new-leader | Leader Completeness  | 9     | 6%    |
 * | voteWithoutLogCheck      | (drawn per seed)   | Leader Completeness  | 2     | 63%   |
 * | readBeforeLeaderCommit   | (drawn per seed)   | Linearizable read    | 1     | 50%   |
 * | sendVotesBeforePersist   | crash-after-vote   | Election Safety      | 14    | 5%    |
 * | ackAppendBeforePersist   | (drawn per seed)   | Commit durability    | 1     | 100%  |
 * | countSelfBeforeFsync     | slow-leader-fsync  | Commit durability    | 1     | 100%  |
 *
 * Without the targeted profiles, Figure 8 and vote-before-persist escape 200 baseline
 * seeds; the leader's early self-count escapes end-to-end checks entirely (the core hands
 * out the commit only in the Ready after its own fsync), hence the Commit durability
 * property, which checks the leader's commit index against the simulated disks.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { InjectedBugs } from "../../src/raft/mod.ts";
import { type FaultProfile, runSimulation } from "./simulation.ts";

interface Caught {
  readonly seed: number;
  readonly property: string;
}

/** Runs seeds 1..budget with `bug` injected until one fails; returns that seed. */
function firstCaught(
  bug: keyof InjectedBugs,
  budget: number,
  profile?: FaultProfile,
  checkCommitDurability = true,
): Caught | undefined {
  for (let seed = 1; seed <= budget; seed++) {
    const result = runSimulation({
      seed,
      steps: 3000,
      nodes: 3,
      profile,
      injectedBugs: { [bug]: true },
      checkCommitDurability,
    });
    if (!result.ok) return { seed, property: result.property! };
  }
  return undefined;
}

function assertCaught(
  caught: Caught | undefined,
  budget: number,
  properties: readonly string[],
): void {
  assert.ok(caught !== undefined, `not caught within ${budget} seeds`);
  assert.ok(
    properties.includes(caught.property),
    `seed ${caught.seed} failed ${caught.property}, expected one of ${properties.join(", ")}`,
  );
}

Deno.test("Figure 8 bug (commit an old-term entry by counting replicas) is caught by isolate-new-leader within 60 seeds", () => {
  assertCaught(firstCaught("commitOldTermEntries", 60, "isolate-new-leader"), 60, [
    "Leader Completeness",
    "Committed entry lost",
    "State Machine Safety",
  ]);
});

Deno.test("vote without the log up-to-date check is caught within 20 seeds", () => {
  assertCaught(firstCaught("voteWithoutLogCheck", 20), 20, [
    "Leader Completeness",
    "Committed entry lost",
    "State Machine Safety",
  ]);
});

Deno.test("ReadIndex served before the leader's NoOp commits is caught within 20 seeds", () => {
  assertCaught(firstCaught("readBeforeLeaderCommit", 20), 20, ["Linearizable read"]);
});

Deno.test("votes sent before they are persisted are caught by crash-after-vote within 80 seeds", () => {
  assertCaught(firstCaught("sendVotesBeforePersist", 80, "crash-after-vote"), 80, [
    "Election Safety",
    "Log Matching",
    "Leader Completeness",
  ]);
});

Deno.test("append acks sent before the entries are persisted are caught within 5 seeds", () => {
  assertCaught(firstCaught("ackAppendBeforePersist", 5), 5, ["Commit durability"]);
});

Deno.test("append acks before persist also lose committed entries end to end (within 60 seeds)", () => {
  assertCaught(firstCaught("ackAppendBeforePersist", 60, "baseline", false), 60, [
    "Leader Completeness",
    "Committed entry lost",
    "Liveness",
  ]);
});

Deno.test("a leader counting itself before its own fsync is caught by slow-leader-fsync within 5 seeds", () => {
  assertCaught(firstCaught("countSelfBeforeFsync", 5, "slow-leader-fsync"), 5, [
    "Commit durability",
  ]);
});
