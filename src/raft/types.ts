/**
 * Public contract of the pure Raft core (`src/raft/`).
 *
 * The core is a deterministic state machine: no I/O, no clock, no randomness
 * of its own, no async. The caller (`src/node/`) owns time, disk and network
 * and drives one {@link RaftNode} per process like this:
 *
 * ```
 * loop:
 *   on timer every tickMs:        node.tick()
 *   on peer message m:            node.step(m)
 *   on client write:              node.propose(data) / node.proposeBatch(datas)
 *   on linearizable read:         node.readIndex(requestId)
 *   on admin command:             node.addNode / removeNode / transferLeader / campaign
 *   while node.hasReady():
 *     rd = node.ready()
 *     1. if rd.snapshot:    install it (state machine := snapshot bytes, log storage reset to
 *                           start after rd.snapshot.index, snapshot meta stored) — durably
 *     2. if rd.entries:     if rd.entries[0].index <= last stored index, truncate the stored
 *                           log from that index first (and fail client requests attached to
 *                           the dropped entries); then append
 *        if rd.hardState:   store it (term, vote, commit)
 *        fsync (one fsync for the whole batch)
 *     3. send rd.messages — may be done before or in parallel with step 2
 *        (leader AppendEntries, heartbeats, pre-votes: they do not depend on local durability)
 *     4. after step 2 is durable: send rd.messagesAfterPersist
 *        (votes, vote grants, append/snapshot acks: they promise durable state)
 *     5. after step 2 is durable: apply rd.committedEntries strictly in order
 *     6. answer rd.readStates once the state machine has applied >= readState.index;
 *        answer rd.failedReads with an error
 *     7. node.advance(rd)
 * ```
 *
 * Rules:
 * - At most one Ready is outstanding: call {@link RaftNode.advance} before the next
 *   `ready()`. `tick`, `step`, `propose`, ... may be called between `ready()` and
 *   `advance()`; their effects appear in the next Ready.
 * - `advance(rd)` tells the core that the entries and hard state of `rd` are durable
 *   and its committed entries are applied. Only then does a leader count itself
 *   toward the commit quorum for those entries.
 * - A proposal is identified by `{index, term}`. Its outcome is known when an entry
 *   at that index is applied: same term = this proposal, another term = it was lost.
 *   When a leader loses leadership (softState.role changes), its pending proposals'
 *   outcome is unknown; the caller answers them with an error.
 * - Reads: a leader answers no read until an entry of its own term is committed;
 *   reads issued before that are queued (not rejected) and confirmed afterwards.
 *   Reads on a non-leader fail at once with `not-leader`; pending reads fail with
 *   `leadership-lost` when the leader steps down. Many reads share one heartbeat round.
 * - Lease reads (`leaseReads: true`) assume bounded clock drift: a tick on any node
 *   lasts at least `(electionTicks - leaseSafetyMarginTicks) / electionTicks` of a tick on
 *   any other. The lease starts when the heartbeat round later acked by a quorum was
 *   sent, and lasts `electionTicks - leaseSafetyMarginTicks` ticks. It needs checkQuorum.
 * - Membership: a change takes effect on every node as soon as its entry is appended to
 *   that node's log (Raft thesis §4.1), and is reverted if the entry is truncated. One
 *   change at a time: no change is accepted while a membership entry is uncommitted, nor
 *   before the leader has committed an entry of its own term. `addNode` adds a non-voter;
 *   the leader promotes it (AddVoter entry) once it is within `learnerCatchUpEntries` of the
 *   leader's log. A leader that removes itself keeps leading (without counting itself)
 *   until the removal commits, then steps down. Node ids are never reused.
 * - Snapshots: the caller snapshots its state machine at an applied index and calls
 *   `compact(index, sizeBytes)`; the core returns the {@link SnapshotMeta} to store with
 *   the snapshot bytes. InstallSnapshot messages carry no bytes: the transport reads
 *   `length` bytes at `offset` from the snapshot file named by `meta` when sending, and
 *   on receipt writes them at `offset` into a temp file keyed by (message term,
 *   meta.index) only if `node.isExpectedSnapshotChunk(m)`, then calls `step(m)`. A last
 *   chunk that is still expected when stepped makes Ready.snapshot name the complete temp
 *   file to install; one that is not any more (the follower caught up meanwhile) installs
 *   nothing. A follower that holds the snapshot's last entry expects no chunk of it.
 * - Lifecycle: `new RaftNode(options)` is a joined node with an empty log that waits for
 *   a leader (it never campaigns while it is not a voter); `bootstrap(addr)` turns it into
 *   a new one-member cluster (RAFT.CLUSTER INIT); `new RaftNode(options, persisted)`
 *   restarts from durable state (hard state, snapshot meta, entries after the snapshot).
 *   After a restart the state machine must be the snapshot's; committed entries after
 *   it are handed out again for apply. A restarted node refuses votes for one election
 *   timeout (as if it had a live leader), which keeps leader leases safe across crashes.
 * - Transport: messages may be lost, duplicated or reordered without harm to safety. On a
 *   FIFO link (one connection per peer) a leader resends AppendEntries lost in transit on
 *   the next heartbeat round: a heartbeat response carries the follower's last index.
 * - Memory: the core holds the entries since the last compaction; `compact` bounds it.
 * - `campaign()` (RAFT.TIMEOUT_NOW) bypasses leader stickiness, so an operator who uses
 *   it while another leader holds a lease can break lease reads (ReadIndex stays safe).
 * - Accessors for INFO and tests: `status()`, `membership()`, `logTerm(index)`.
 *
 * @module
 */

/** A node id: a positive 31-bit integer, never reused within a cluster. 0 means "none". */
export type NodeId = number;

/** Log entry types; numbering matches RedisRaft (`RAFT_LOGTYPE_*`). */
export const EntryType = {
  Normal: 0,
  AddNonVoter: 1,
  AddVoter: 2,
  RemoveNode: 3,
  NoOp: 4,
} as const;
export type EntryType = typeof EntryType[keyof typeof EntryType];

/**
 * One log entry. Entries are immutable once created: the core shares them between
 * its log, Ready batches and messages. For membership entries `data` is
 * {@link encodeMembershipChange} output (see `membership_codec.ts`).
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be durable before messages in `messagesAfterPersist` are sent. */
export interface HardState {
  readonly term: number;
  /** Node voted for in `term`, 0 = none. */
  readonly vote: NodeId;
  readonly commit: number;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** Volatile state, reported when it changes. */
export interface SoftState {
  readonly role: Role;
  /** Current leader as known by this node, 0 = unknown. */
  readonly leaderId: NodeId;
  /** Leadership transfer target while one is in progress (leader only), else 0. */
  readonly transferTargetId: NodeId;
}

export interface Member {
  readonly id: NodeId;
  readonly addr: string;
  readonly voter: boolean;
}

/** The cluster configuration: members sorted by id, plus every id ever used. */
export interface Membership {
  readonly members: readonly Member[];
  readonly usedNodeIds: readonly NodeId[];
}

/** Metadata stored with a state machine snapshot. */
export interface SnapshotMeta {
  /** Last log index included in the snapshot. */
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
  /** Size of the snapshot bytes; the leader chunks InstallSnapshot by it. */
  readonly sizeBytes: number;
}

/** A confirmed linearizable read: answer it once applied index >= `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

export type ReadFailureReason = "not-leader" | "leadership-lost" | "too-many-reads";

export interface FailedRead {
  readonly requestId: number;
  readonly reason: ReadFailureReason;
}

/** Message types. Numeric so that transports can encode them compactly. */
export const MessageType = {
  AppendEntries: 1,
  AppendEntriesResponse: 2,
  RequestVote: 3,
  RequestVoteResponse: 4,
  Heartbeat: 5,
  HeartbeatResponse: 6,
  TimeoutNow: 7,
  InstallSnapshot: 8,
  InstallSnapshotResponse: 9,
} as const;
export type MessageType = typeof MessageType[keyof typeof MessageType];

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface AppendEntriesMessage extends MessageBase {
  readonly type: typeof MessageType.AppendEntries;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendEntriesResponseMessage extends MessageBase {
  readonly type: typeof MessageType.AppendEntriesResponse;
  readonly success: boolean;
  /** On success: last index known to match the leader's log. On reject: the prevIndex rejected. */
  readonly index: number;
  /** Follower's last index (informational). */
  readonly lastIndex: number;
  /**
   * Reject hint (etcd style): the follower's largest index <= prevIndex whose term is
   * <= the leader's prevTerm, and that entry's term. The leader skips back to the last
   * of its own entries at or below it with a term <= conflictTerm.
   */
  readonly conflictIndex: number;
  readonly conflictTerm: number;
}

export interface RequestVoteMessage extends MessageBase {
  readonly type: typeof MessageType.RequestVote;
  /** For a pre-vote, `term` is the term the candidate would campaign in (not yet adopted). */
  readonly preVote: boolean;
  /** Set when campaigning after TimeoutNow: bypasses leader stickiness. */
  readonly transfer: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface RequestVoteResponseMessage extends MessageBase {
  readonly type: typeof MessageType.RequestVoteResponse;
  readonly preVote: boolean;
  readonly granted: boolean;
}

export interface HeartbeatMessage extends MessageBase {
  readonly type: typeof MessageType.Heartbeat;
  /** min(leader commit, follower match): never ahead of what the follower holds. */
  readonly commit: number;
  /** Read round sequence; echoed in the response to confirm pending ReadIndex batches. */
  readonly readSeq: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: typeof MessageType.HeartbeatResponse;
  readonly readSeq: number;
  /**
   * The follower's last log index when it answered (in memory, maybe not yet durable, so
   * never counted as a match). The leader compares it with what it had sent before that
   * heartbeat: a follower behind it lost AppendEntries in transit and gets them resent at
   * once, instead of after the replicate-state ack timeout.
   */
  readonly lastIndex: number;
}

export interface TimeoutNowMessage extends MessageBase {
  readonly type: typeof MessageType.TimeoutNow;
}

export interface InstallSnapshotMessage extends MessageBase {
  readonly type: typeof MessageType.InstallSnapshot;
  readonly meta: SnapshotMeta;
  readonly offsetBytes: number;
  readonly lengthBytes: number;
  readonly last: boolean;
}

export interface InstallSnapshotResponseMessage extends MessageBase {
  readonly type: typeof MessageType.InstallSnapshotResponse;
  readonly snapshotIndex: number;
  /** Next offset the follower expects. */
  readonly nextOffsetBytes: number;
  /** The chunk was not the expected one: resend from `nextOffsetBytes`. */
  readonly rejected: boolean;
  /** True once the whole snapshot was received and handed over for install. */
  readonly done: boolean;
}

export type Message =
  | AppendEntriesMessage
  | AppendEntriesResponseMessage
  | RequestVoteMessage
  | RequestVoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | TimeoutNowMessage
  | InstallSnapshotMessage
  | InstallSnapshotResponseMessage;

/** One batch of work for the caller; see the module comment for the processing order. */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** Snapshot to install before persisting `entries`. */
  readonly snapshot?: SnapshotMeta;
  /** Entries to persist; truncate the stored log from `entries[0].index` first if needed. */
  readonly entries: readonly Entry[];
  /** Messages that may be sent at once. */
  readonly messages: readonly Message[];
  /** Messages to send only once `hardState`, `entries` and `snapshot` are durable. */
  readonly messagesAfterPersist: readonly Message[];
  /** Entries to apply, in order, after persisting. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly failedReads: readonly FailedRead[];
  /** Effective membership, when it changed (also on reverts by truncation). */
  readonly membership?: Membership;
}

/** Durable state a node restarts from. Entries with index <= snapshot.index are ignored. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot?: SnapshotMeta;
  readonly entries: readonly Entry[];
}

/** Position of an appended proposal. */
export interface EntryPosition {
  readonly index: number;
  readonly term: number;
}

export type RaftErrorCode =
  | "not-leader"
  | "transfer-in-progress"
  | "membership-change-pending"
  | "leader-not-ready"
  | "unknown-node"
  | "node-id-used"
  | "invalid-node-id"
  | "uncommitted-limit"
  | "not-voter"
  | "already-initialized"
  | "invalid-config"
  | "last-voter"
  | "quorum-unreachable";

/** An expected, recoverable refusal (returned, not thrown). Broken invariants throw `Error`. */
export class RaftError extends Error {
  constructor(readonly code: RaftErrorCode, message: string) {
    super(message);
    this.name = "RaftError";
  }
}

/** Read-only view for INFO raft and tests. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Memory the entries held (those after the snapshot) take, in bytes. */
  readonly heldEntriesBytes: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly membership: Membership;
}
