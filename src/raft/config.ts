/**
 * Raft core configuration: every limit named with its unit, time in ticks.
 *
 * @module
 */

import type { NodeId } from "./types.ts";

export interface RaftConfig {
  /** This node's id (positive 31-bit integer). */
  readonly id: NodeId;
  /** Election timeout base; the actual timeout is random in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  /** Leader heartbeat interval. Must be < electionTicks. */
  readonly heartbeatTicks: number;
  /** Source of randomness in [0, 1); use `seededRandom(seed)` from `prng.ts`. */
  readonly random: () => number;
  /** Probe with a pre-vote before disrupting the cluster with a term bump. */
  readonly preVote: boolean;
  /** Leader steps down without a quorum for an election timeout; followers stick to live leaders. */
  readonly checkQuorum: boolean;
  /** Max AppendEntries messages in flight per follower in replicate state. */
  readonly maxInflightAppendsCount: number;
  /** Max entry payload bytes in flight per follower. */
  readonly maxInflightAppendsBytes: number;
  /** Max entry payload bytes per AppendEntries (the first entry is always allowed). */
  readonly maxAppendEntriesBytes: number;
  /** Max entries per AppendEntries. */
  readonly maxAppendEntriesCount: number;
  /** A learner within this many entries of the leader's last index gets promoted to voter. */
  readonly learnerCatchUpEntries: number;
  /** Serve reads from a leader lease (no heartbeat round); needs checkQuorum. */
  readonly leaseReads: boolean;
  /** Lease length = electionTicks - leaseSafetyMarginTicks (covers clock drift). */
  readonly leaseSafetyMarginTicks: number;
  /** InstallSnapshot chunk size. */
  readonly snapshotChunkBytes: number;
  /** Max InstallSnapshot chunks in flight per follower. */
  readonly maxInflightSnapshotChunksCount: number;
  /** Entries kept in memory below a compaction point, so slightly lagging followers avoid a snapshot. */
  readonly compactionTrailingEntriesCount: number;
  /** Leader refuses proposals while this many payload bytes are uncommitted. */
  readonly maxUncommittedEntriesBytes: number;
  /** Max ReadIndex requests waiting for confirmation. */
  readonly maxPendingReadsCount: number;
  /**
   * A commit index that advanced with no new entries to carry it goes out with the next entries
   * or at the next tick, instead of in an empty append at once: under load the next append
   * carries it, and followers wake once per batch instead of twice.
   */
  readonly commitOnlyAppendsOnTick: boolean;
  /**
   * A ReadIndex round goes only to the most responsive voters needed for a quorum (one follower
   * of three), not to every follower; a round still unconfirmed a tick later goes to all.
   */
  readonly readRoundsToQuorumOnly: boolean;
  /** Max ReadIndex heartbeat rounds sent and not yet confirmed; reads arriving beyond share the next. */
  readonly maxReadRoundsInFlightCount: number;
  /** TEST ONLY: deliberate protocol bugs (all off by default); see {@link InjectedBugs}. */
  readonly injectedBugs: InjectedBugs;
}

/**
 * TEST ONLY. Each switch breaks one Raft safety rule on purpose, so that the simulation's
 * self-test (`tests/simulation/injected_bugs_test.ts`) can show that it catches the bug.
 * Every switch defaults to off; production code never sets any of them.
 */
export interface InjectedBugs {
  /** Leader commits a quorum-replicated entry of an older term (violates Raft §5.4.2, Figure 8). */
  readonly commitOldTermEntries?: boolean;
  /** Grant votes without checking that the candidate's log is up to date (violates §5.4.1). */
  readonly voteWithoutLogCheck?: boolean;
  /** Serve ReadIndex before the leader has committed an entry of its own term (its NoOp). */
  readonly readBeforeLeaderCommit?: boolean;
  /** Send vote requests and vote grants before the term and vote are persisted. */
  readonly sendVotesBeforePersist?: boolean;
  /** Acknowledge AppendEntries before the appended entries are persisted. */
  readonly ackAppendBeforePersist?: boolean;
  /** Leader counts its own entries toward the commit quorum before its own fsync. */
  readonly countSelfBeforeFsync?: boolean;
  /** Answer (pre-)vote requests while a leader is believed alive (no leader stickiness). */
  readonly voteWhileLeaderAlive?: boolean;
  /** Remove a voter even when too few of the rest are reachable and caught up to commit it. */
  readonly removeWithoutQuorumCheck?: boolean;
}

/** No injected bugs: the default. */
export const noInjectedBugs: InjectedBugs = Object.freeze({});

export const defaultRaftConfig: Omit<RaftConfig, "id" | "random"> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxInflightAppendsCount: 256,
  maxInflightAppendsBytes: 64 * 1024 * 1024,
  maxAppendEntriesBytes: 1024 * 1024,
  maxAppendEntriesCount: 4096,
  learnerCatchUpEntries: 100,
  leaseReads: false,
  leaseSafetyMarginTicks: 2,
  snapshotChunkBytes: 64 * 1024,
  maxInflightSnapshotChunksCount: 32,
  compactionTrailingEntriesCount: 0,
  maxUncommittedEntriesBytes: 256 * 1024 * 1024,
  maxPendingReadsCount: 100_000,
  maxReadRoundsInFlightCount: 1,
  commitOnlyAppendsOnTick: false,
  readRoundsToQuorumOnly: false,
  injectedBugs: noInjectedBugs,
};

/** The settings a running node may change (CONFIG SET): timing and replication batching. */
export type RaftTunables = Pick<
  RaftConfig,
  | "electionTicks"
  | "heartbeatTicks"
  | "maxInflightAppendsCount"
  | "maxAppendEntriesBytes"
  | "snapshotChunkBytes"
  | "maxInflightSnapshotChunksCount"
>;

/** Fills defaults and validates. Throws on an invalid configuration. */
export function resolveRaftConfig(
  partial: Partial<RaftConfig> & Pick<RaftConfig, "id" | "random">,
): RaftConfig {
  const config: RaftConfig = { ...defaultRaftConfig, ...partial };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`invalid raft config: ${what}`);
  };
  check(Number.isInteger(config.id) && config.id > 0 && config.id <= 0x7fffffff, "id");
  check(config.heartbeatTicks >= 1, "heartbeatTicks >= 1");
  check(config.electionTicks > config.heartbeatTicks, "electionTicks > heartbeatTicks");
  check(config.maxInflightAppendsCount >= 1, "maxInflightAppendsCount >= 1");
  check(config.maxAppendEntriesCount >= 1, "maxAppendEntriesCount >= 1");
  check(config.maxReadRoundsInFlightCount >= 1, "maxReadRoundsInFlightCount >= 1");
  check(config.maxInflightSnapshotChunksCount >= 1, "maxInflightSnapshotChunksCount >= 1");
  check(config.snapshotChunkBytes >= 1, "snapshotChunkBytes >= 1");
  check(
    config.leaseSafetyMarginTicks >= 0 && config.leaseSafetyMarginTicks < config.electionTicks,
    "0 <= leaseSafetyMarginTicks < electionTicks",
  );
  check(!config.leaseReads || config.checkQuorum, "leaseReads needs checkQuorum");
  return config;
}
