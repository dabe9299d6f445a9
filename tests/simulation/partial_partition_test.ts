/**
 * Availability under partial partitions (`partial_partition.ts`): bridges and majority rings
 * cost a cluster neither its leader nor its writes and reads, also when the leader removes a
 * voter meanwhile (the core refuses a removal that would leave too few reachable voters). The
 * check bites on a core that votes while it hears its leader (seeds 1..50: first caught at
 * seed 3 with 3 nodes, 34 caught; seed 1 with 5, 37 caught) and on one that removes without the
 * reachability check (seed 1 with either; 29 and 31 caught).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { InjectedBugs } from "../../src/raft/mod.ts";
import {
  partialPartitionCuts,
  type PartialPartitionOptions,
  runPartialPartitions,
} from "./partial_partition.ts";

function runSeeds(first: number, count: number, options: Omit<PartialPartitionOptions, "seed">) {
  let partitions = 0;
  for (let seed = first; seed < first + count; seed++) {
    const result = runPartialPartitions({ ...options, seed });
    if (!result.ok) {
      throw new Error(
        `seed ${seed} violated ${result.property}: ${result.failure}\n` +
          result.trace.slice(-40).join("\n") +
          `\nreproduce: deno run tests/simulation/sim_main.ts --seeds 1 --seed ${seed} --nodes ${options.nodes} --partial-partitions ${options.rounds}${
            options.leaseReads ? " --lease" : ""
          }`,
      );
    }
    partitions += result.partitions;
  }
  assert.equal(partitions, count * options.rounds);
}

Deno.test("partial partition shapes: a bridge reaches all, halves are cut; a ring of 5 reaches neighbours", () => {
  const reach = (cuts: [number, number][], from: number, ids: number[]) =>
    ids.filter((to) => to !== from && !cuts.some(([a, b]) => a === from && b === to));
  const bridge3 = partialPartitionCuts("bridge", [3, 1, 2]);
  assert.deepEqual(reach(bridge3, 3, [1, 2, 3]), [1, 2]);
  assert.deepEqual(reach(bridge3, 1, [1, 2, 3]), [3]);
  assert.deepEqual(reach(bridge3, 2, [1, 2, 3]), [3]);
  const bridge5 = partialPartitionCuts("bridge", [5, 1, 2, 3, 4]);
  assert.deepEqual(reach(bridge5, 5, [1, 2, 3, 4, 5]), [1, 2, 3, 4]);
  assert.deepEqual(reach(bridge5, 1, [1, 2, 3, 4, 5]), [2, 5]);
  assert.deepEqual(reach(bridge5, 4, [1, 2, 3, 4, 5]), [3, 5]);
  const ring5 = partialPartitionCuts("ring", [1, 2, 3, 4, 5]);
  assert.deepEqual(reach(ring5, 1, [1, 2, 3, 4, 5]), [2, 5]);
  assert.deepEqual(reach(ring5, 3, [1, 2, 3, 4, 5]), [2, 4]);
  // Each node reaches a majority with itself, and no two reach the same one.
  const views = [1, 2, 3, 4, 5].map((id) => [id, ...reach(ring5, id, [1, 2, 3, 4, 5])].sort());
  assert.equal(new Set(views.map((v) => v.join())).size, 5);
});

Deno.test("3-node clusters keep their leader, writes and reads through bridges (300 seeds)", () => {
  runSeeds(1, 300, { nodes: 3, rounds: 4 });
});

Deno.test("5-node clusters keep their leader through bridges and majority rings (200 seeds)", () => {
  runSeeds(100_001, 200, { nodes: 5, rounds: 4 });
});

Deno.test("lease reads go on through bridges (200 seeds)", () => {
  runSeeds(200_001, 200, { nodes: 3, rounds: 4, leaseReads: true });
});

/** Seeds 1..budget with `bug` injected, for 3 and 5 nodes: each must fail with `expected`. */
function assertCaught(bug: InjectedBugs, budget: number, expected: RegExp): void {
  for (const nodes of [3, 5] as const) {
    let caught: string | undefined;
    for (let seed = 1; seed <= budget && caught === undefined; seed++) {
      const result = runPartialPartitions({ seed, nodes, rounds: 4, injectedBugs: bug });
      if (!result.ok) caught = `${result.property}: ${result.failure}`;
    }
    assert.ok(caught !== undefined, `${nodes} nodes: not caught within ${budget} seeds`);
    assert.match(caught, expected);
  }
}

Deno.test("a node that votes while it hears its leader (no stickiness) is caught within 10 seeds", () => {
  assertCaught({ voteWhileLeaderAlive: true }, 10, /^Availability: .*lost leadership/);
});

Deno.test("a removal that leaves too few reachable voters (no reachability check) is caught within 10 seeds", () => {
  // Removing the bridge, or a neighbour in the ring: the leader no longer reaches a majority
  // of the new configuration, steps down, and nothing can commit until the links heal.
  assertCaught({ removeWithoutQuorumCheck: true }, 10, /^Availability: /);
});
