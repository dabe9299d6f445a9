/**
 * Availability under partial partitions (Jepsen's "bridge" and "majorities ring"): links cut so
 * that reachability is not transitive, while the leader still reaches a majority of the voters.
 * With PreVote and CheckQuorum (the node runs both) such a cut must cost nothing: the leader
 * keeps leading (the nodes that cannot hear it ask for votes, but whoever still hears the
 * leader refuses them) and writes and linearizable reads go on through it. Without them, a
 * node that cannot hear the leader would depose it with each higher-term election.
 *
 * Each round waits for a settled cluster (one leader, every node caught up), cuts the links,
 * reads (and, every other round, writes) for a while, with nodes compacting their logs now and
 * then (so that a node cut off from the leader catches up by a snapshot), and heals. Rounds without writes matter:
 * a node cut off from the leader then keeps a log as up to date as the others', so only
 * leader stickiness stops the node between it and the leader from electing it. Safety is
 * checked throughout by the simulation's own checker; a leader change, or a window with no
 * acknowledged write (when writing) or read while the links are cut, is an availability
 * failure.
 *
 * @module
 */

import { type InjectedBugs, type NodeId, RaftError } from "../../src/raft/mod.ts";
import { SafetyViolation } from "./checker.ts";
import { runChecked, type SimResult, Simulation, unitsPerTick } from "./simulation.ts";

export type PartialPartitionKind = "bridge" | "ring";

export interface PartialPartitionOptions {
  readonly seed: number;
  readonly nodes: 3 | 5;
  /** Partitions to form, one after another. */
  readonly rounds: number;
  readonly leaseReads?: boolean;
  /** TEST ONLY: protocol bugs injected into every node (see `partial_partition_test.ts`). */
  readonly injectedBugs?: InjectedBugs;
}

/** A simulation's result (its nodes run the baseline profile's options), and the rounds run. */
export interface PartialPartitionResult extends SimResult {
  readonly partitions: number;
}

/** How long a settled cluster is waited for before a round (elections, catch-up). */
const settleMaxUnits = 400 * unitsPerTick;
/** Catch-up allowance per entry a node is behind (the liveness phase's, see simulation.ts). */
const catchUpUnitsPerEntry = 4;
/** Every window of this many units while cut must see a write and a read acknowledged. */
const progressWindowUnits = 40 * unitsPerTick;

/**
 * The links to cut, as directed pairs, for `order` (the voters in a random order):
 * - bridge: the first node reaches everyone; the others split into two halves that cannot
 *   reach each other;
 * - ring: the nodes in a circle, each reaching its two neighbours only (with 5, a majority
 *   each, and no two the same majority).
 */
export function partialPartitionCuts(
  kind: PartialPartitionKind,
  order: readonly NodeId[],
): [NodeId, NodeId][] {
  const cuts: [NodeId, NodeId][] = [];
  const n = order.length;
  if (kind === "bridge") {
    const rest = order.slice(1);
    const half = Math.floor(rest.length / 2);
    for (const a of rest.slice(0, half)) {
      for (const b of rest.slice(half)) cuts.push([a, b], [b, a]);
    }
    return cuts;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const distance = Math.min((i - j + n) % n, (j - i + n) % n);
      if (distance > 1) cuts.push([order[i], order[j]]);
    }
  }
  return cuts;
}

/**
 * The one leader, once the cluster has its size in voters (no change in flight) and every member
 * has applied everything the leader committed; else undefined.
 */
function settledLeader(sim: Simulation): NodeId | undefined {
  const leaders = sim.leaders();
  if (leaders.length !== 1) return undefined;
  const raft = leaders[0].raft!;
  const commit = raft.status().commitIndex;
  if (raft.logTerm(commit) !== raft.status().term) return undefined;
  const members = raft.membership().members;
  if (members.length !== sim.options.nodes || members.some((m) => !m.voter)) return undefined;
  for (const member of members) {
    const node = sim.nodes.get(member.id);
    if (node === undefined || !node.up || node.appliedIndex < commit) return undefined;
  }
  return leaders[0].id;
}

/**
 * Units a node may take to catch up, as the simulation's liveness phase allows: a few per entry
 * the furthest-behind node lacks, and those of a snapshot it needs.
 */
function catchUpUnits(sim: Simulation): number {
  let lastIndex = 0;
  let appliedMin = Infinity;
  for (const node of sim.nodes.values()) {
    if (!node.up) continue;
    lastIndex = Math.max(lastIndex, node.raft!.status().lastIndex);
    appliedMin = Math.min(appliedMin, node.appliedIndex);
  }
  return catchUpUnitsPerEntry * (lastIndex - appliedMin) + sim.snapshotCatchUpUnits();
}

/**
 * Waits for a settled cluster (elections, catch-up, a new node in place of one removed during
 * the last partition); the bound grows with each node added, which starts from nothing.
 */
function settle(sim: Simulation): NodeId {
  let deadline = sim.now + settleMaxUnits + catchUpUnits(sim);
  while (sim.now < deadline) {
    sim.stepTime();
    const leader = settledLeader(sim);
    if (leader !== undefined) return leader;
    const leaders = sim.leaders();
    if (leaders.length !== 1) continue;
    // A write of the leader's term, so that its commit index reaches its own term.
    if (sim.random() < 0.05) sim.write();
    const members = leaders[0].raft!.membership().members;
    if (members.length < sim.options.nodes && sim.addFreshNode(leaders[0])) {
      sim.stats.membershipChanges++;
      deadline = Math.max(deadline, sim.now + settleMaxUnits + catchUpUnits(sim));
    }
  }
  const states = [...sim.nodes.values()].map((n) =>
    `n${n.id}:${n.up ? n.role : "down"}@${n.appliedIndex}/${n.raft?.status().commitIndex ?? "-"}`
  );
  throw new SafetyViolation("Liveness", `no settled leader in time: ${states.join(" ")}`);
}

/** A node compacts its log: a node cut off from the leader then catches up by a snapshot. */
function compactOne(sim: Simulation): void {
  const node = sim.pick([...sim.nodes.values()].filter((node) => node.up));
  if (node?.compact()) sim.log(`n${node.id} compacted at ${node.appliedIndex}`);
}

/** The leader tries to remove one of the other voters (refused when the rest would stall). */
function removeVoter(sim: Simulation, leaderId: NodeId, voters: readonly NodeId[]): void {
  const victim = sim.pick(voters.filter((id) => id !== leaderId))!;
  const result = sim.nodes.get(leaderId)!.raft!.removeNode(victim);
  if (!(result instanceof RaftError)) sim.stats.membershipChanges++;
  sim.log(
    `n${leaderId} removes n${victim}: ${
      result instanceof RaftError ? `refused (${result.code})` : `at ${result.index}`
    }`,
  );
}

/** One partition: cut, hold with traffic, heal. Returns a failure or undefined. */
function holdPartition(sim: Simulation, leaderId: NodeId, round: number): string | undefined {
  const voters = sim.nodes.get(leaderId)!.raft!.membership().members
    .filter((m) => m.voter)
    .map((m) => m.id);
  const order = sim.shuffle(voters);
  const kind: PartialPartitionKind = voters.length >= 5 && sim.random() < 0.5 ? "ring" : "bridge";
  const writing = sim.random() < 0.5;
  const faults = sim.network.faults;
  faults.dropRate = sim.random() < 0.5 ? 0 : sim.random() * 0.05;
  faults.maxDelayUnits = 1 + Math.floor(sim.random() * 6);
  for (const [from, to] of partialPartitionCuts(kind, order)) sim.network.cut(from, to);
  const layout = order.map((id) => `n${id}`).join(" ");
  sim.log(`round ${round}: ${kind} ${layout}, leader n${leaderId}${writing ? "" : ", reads only"}`);
  const windows = 10 + Math.floor(sim.random() * 20);
  // Half the rounds, the leader tries to remove another voter partway: a removal it accepts must
  // leave a configuration it still reaches a majority of (the core refuses the others).
  const removeAtWindow = sim.random() < 0.5 ? 2 + Math.floor(sim.random() * (windows - 4)) : -1;
  for (let window = 0; window < windows; window++) {
    if (window === removeAtWindow) removeVoter(sim, leaderId, voters);
    const windowEnd = sim.now + progressWindowUnits;
    const writesBefore = sim.checker.writesAcked;
    const readsBefore = sim.stats.readsChecked;
    while (sim.now < windowEnd) {
      const r = sim.random();
      if (r < 0.3 && writing) sim.write();
      else if (r >= 0.3 && r < 0.4) sim.read();
      else if (r >= 0.4 && r < 0.402) compactOne(sim);
      sim.stepTime();
      const leaders = sim.leaders();
      if (leaders.length !== 1 || leaders[0].id !== leaderId) {
        const now = leaders.map((n) => `n${n.id}`).join(",") || "none";
        return `${kind}: leader n${leaderId} lost leadership (leaders now: ${now})`;
      }
    }
    if (writing && sim.checker.writesAcked === writesBefore) {
      return `${kind}: no write acknowledged in ${progressWindowUnits} units`;
    }
    if (sim.stats.readsChecked === readsBefore) {
      return `${kind}: no read completed in ${progressWindowUnits} units`;
    }
  }
  sim.network.heal();
  faults.dropRate = 0;
  sim.log(`round ${round}: healed`);
  return undefined;
}

export function runPartialPartitions(options: PartialPartitionOptions): PartialPartitionResult {
  const sim = new Simulation({
    seed: options.seed,
    steps: 0,
    nodes: options.nodes,
    leaseReads: options.leaseReads,
    profile: "baseline",
    injectedBugs: options.injectedBugs,
  });
  let partitions = 0;
  const result = runChecked(sim, () => {
    sim.formCluster();
    for (let round = 1; round <= options.rounds; round++) {
      const leader = settle(sim);
      partitions++;
      const failure = holdPartition(sim, leader, round);
      if (failure !== undefined) {
        return { property: "Availability", failure: `round ${round}: ${failure}` };
      }
    }
    // The last heal: everyone catches up (a settle's bound counts the snapshots to send).
    settle(sim);
    sim.checkLogs();
    return undefined;
  });
  return { ...result, partitions };
}
