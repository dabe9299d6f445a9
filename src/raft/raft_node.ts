/**
 * The Raft node: the single entry point of the pure core. See `types.ts` for the
 * Ready/advance protocol the caller follows.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { type RaftConfig, type RaftTunables, resolveRaftConfig } from "./config.ts";
import { encodeMembershipChange } from "./membership_codec.ts";
import { emptyMembership, isMembershipEntry, MembershipTracker } from "./membership.ts";
import { Progress } from "./progress.ts";
import { RaftLog } from "./raft_log.ts";
import { ReadIndexQueue } from "./read_index_queue.ts";
import {
  type AppendEntriesMessage,
  type AppendEntriesResponseMessage,
  type Entry,
  type EntryPosition,
  EntryType,
  type FailedRead,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type InstallSnapshotMessage,
  type InstallSnapshotResponseMessage,
  type Membership,
  type Message,
  MessageType,
  type NodeId,
  type PersistedState,
  RaftError,
  type RaftStatus,
  type ReadFailureReason,
  type ReadState,
  type Ready,
  type RequestVoteMessage,
  type RequestVoteResponseMessage,
  type Role,
  type SnapshotMeta,
  type SoftState,
} from "./types.ts";

export type RaftNodeOptions = Partial<RaftConfig> & Pick<RaftConfig, "id" | "random">;

const emptyData = new Uint8Array(0);

interface SnapshotReceive {
  readonly term: number;
  readonly index: number;
  expectedOffsetBytes: number;
}

export class RaftNode {
  /** Replaced (never mutated) by {@link RaftNode.tune}. */
  private config: RaftConfig;
  private readonly log = new RaftLog();
  private readonly members: MembershipTracker;

  private term = 0;
  private vote: NodeId = 0;
  private role: Role = "follower";
  private leaderId: NodeId = 0;

  /** Logical clock: ticks since construction. */
  private tickCount = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /** Right after (re)start, refuse votes for an election timeout as if a leader were live. */
  private bootSticky = true;

  private votes = new Map<NodeId, boolean>();

  // Leader state.
  private progress = new Map<NodeId, Progress>();
  private reads = new ReadIndexQueue();
  /** Index of the leader's first entry of its term; ready once committed. */
  private leaderStartIndex = 0;
  /** Tick of the last CheckQuorum round (or of becoming leader): answers since then count. */
  private quorumCheckTick = 0;
  private transferTargetId: NodeId = 0;
  /** After stepDown(): no election of this node's own before this tick. */
  private campaignHeldUntilTick = 0;
  private transferElapsedTicks = 0;
  /** A TimeoutNow was sent this term: a lease can no longer be trusted. */
  private leaseRevoked = false;
  /** When the newest heartbeat round a quorum acknowledged was sent; leases count from it. */
  private quorumRoundSentTick = -Infinity;
  private uncommittedBytes = 0;
  private needsFlush = false;
  /** With commitOnlyAppendsOnTick: a tick passed, so appends carrying only the commit go out. */
  private commitOnlyAppendsDue = false;
  /** Tick of the latest heartbeat round sent to every follower. */
  private fullRoundTick = -1;

  // Follower snapshot reception.
  private snapshotReceive: SnapshotReceive | undefined = undefined;
  private pendingSnapshot: SnapshotMeta | undefined = undefined;

  // Ready output.
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private failedReads: FailedRead[] = [];
  private reportedSoft: SoftState;
  private reportedHard: HardState;
  private reportedMembershipVersion: number;
  private outstanding: Ready | undefined = undefined;

  /**
   * A node with no persisted state waits for a leader to contact it (a joined node)
   * unless `bootstrap` is called. With `persisted`, it restarts from durable state.
   */
  constructor(options: RaftNodeOptions, persisted?: PersistedState) {
    this.config = resolveRaftConfig(options);
    if (persisted !== undefined) {
      const snap = persisted.snapshot;
      this.members = new MembershipTracker(
        snap?.membership ?? emptyMembership,
        snap?.index ?? 0,
      );
      this.log.restore(snap, persisted.entries, persisted.hardState.commit);
      for (const entry of persisted.entries) {
        if (entry.index > this.log.offsetIndex) this.members.onAppend(entry);
      }
      this.term = persisted.hardState.term;
      this.vote = persisted.hardState.vote;
    } else {
      this.members = new MembershipTracker();
    }
    this.resetElectionTimer();
    this.reportedSoft = this.softState();
    this.reportedHard = this.hardState();
    this.reportedMembershipVersion = this.members.version;
  }

  get id(): NodeId {
    return this.config.id;
  }

  /** Index of the last entry in the log. */
  get lastIndex(): number {
    return this.log.lastIndex();
  }

  /** Highest index known committed (the read index a round started now would get). */
  get commitIndex(): number {
    return this.log.committed;
  }

  /**
   * On a leader: how many other members (voters and non-voters) are known to hold the log up
   * to `index` durably (their acknowledged match index); 0 on any other role.
   */
  replicasHolding(index: number): number {
    if (this.role !== "leader") return 0;
    let count = 0;
    for (const pr of this.progress.values()) if (pr.match >= index) count++;
    return count;
  }

  /**
   * On a leader: the other voter with the highest acknowledged match (the one `transferLeader()`
   * picks), if it holds the log up to `index` durably; 0 if none does, or on any other role.
   */
  voterHolding(index: number): NodeId {
    if (this.role !== "leader") return 0;
    const best = this.mostCaughtUpVoter();
    return best.match >= index ? best.id : 0;
  }

  /** Whether this node leads now (a node's reported soft state may lag until its next Ready). */
  get isLeader(): boolean {
    return this.role === "leader";
  }

  /**
   * On a leader: ticks since the newest heartbeat round that a quorum of voters acknowledged was
   * sent; Infinity before the first one of its term, and on any other role. It stays within a
   * heartbeat interval plus a round trip while the leader hears from a quorum; it grows when what
   * it sends, or what comes back, is slow or lost.
   */
  quorumRoundAgeTicks(): number {
    if (this.role !== "leader") return Infinity;
    return this.tickCount - this.quorumRoundSentTick;
  }

  // ---------------------------------------------------------------- inputs

  /** RAFT.CLUSTER INIT: AddVoter(self) at index 1, become leader of term 1, NoOp at index 2. */
  bootstrap(addr: string): RaftError | undefined {
    if (this.term !== 0 || this.log.lastIndex() !== 0 || this.members.current().members.length) {
      return new RaftError("already-initialized", "Already cluster member");
    }
    this.term = 1;
    this.vote = this.id;
    this.appendEntry(EntryType.AddVoter, encodeMembershipChange({ nodeId: this.id, addr }));
    this.becomeLeader();
    return undefined;
  }

  /** Advances logical time by one tick. */
  tick(): void {
    this.tickCount++;
    this.electionElapsed++;
    if (this.role === "leader") this.tickLeader();
    else this.tickFollower();
  }

  /** Handles a message from a peer. */
  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === MessageType.RequestVote) {
        // Leader stickiness: a node that hears its leader does not help depose it.
        if (!m.transfer && this.inLease() && !this.config.injectedBugs.voteWhileLeaderAlive) return;
        if (m.preVote) {
          this.handleRequestVote(m);
          return;
        }
      }
      if (m.type === MessageType.RequestVoteResponse && m.preVote && m.granted) {
        // A pre-vote grant carries the future term; adopting it would disrupt.
      } else {
        const fromLeader = m.type === MessageType.AppendEntries ||
          m.type === MessageType.Heartbeat || m.type === MessageType.InstallSnapshot;
        this.becomeFollower(m.term, fromLeader ? m.from : 0);
      }
    } else if (m.term < this.term) {
      this.stepStale(m);
      return;
    }
    switch (m.type) {
      case MessageType.AppendEntries:
        this.followLeader(m.from);
        this.handleAppendEntries(m);
        break;
      case MessageType.Heartbeat:
        this.followLeader(m.from);
        this.handleHeartbeat(m);
        break;
      case MessageType.InstallSnapshot:
        this.followLeader(m.from);
        this.handleInstallSnapshot(m);
        break;
      case MessageType.RequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.RequestVoteResponse:
        this.handleVoteResponse(m);
        break;
      case MessageType.TimeoutNow:
        if (this.role !== "leader" && this.members.isVoter(this.id)) this.campaignNow(true);
        break;
      case MessageType.AppendEntriesResponse:
        if (this.role === "leader") this.handleAppendResponse(m);
        break;
      case MessageType.HeartbeatResponse:
        if (this.role === "leader") this.handleHeartbeatResponse(m);
        break;
      case MessageType.InstallSnapshotResponse:
        if (this.role === "leader") this.handleSnapshotResponse(m);
        break;
    }
  }

  /** Appends a Normal entry (leader only). */
  propose(data: Uint8Array): EntryPosition | RaftError {
    return this.proposeBatch([data]);
  }

  /** Appends Normal entries at consecutive indexes; returns the position of the first. */
  proposeBatch(datas: readonly Uint8Array[]): EntryPosition | RaftError {
    const refused = this.checkCanPropose();
    if (refused) return refused;
    let bytes = 0;
    for (const data of datas) bytes += data.length;
    if (
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + bytes > this.config.maxUncommittedEntriesBytes
    ) {
      return new RaftError("uncommitted-limit", "too many uncommitted bytes, retry later");
    }
    this.uncommittedBytes += bytes;
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = new Array(datas.length);
    for (let i = 0; i < datas.length; i++) {
      entries[i] = { index: first + i, term: this.term, type: EntryType.Normal, data: datas[i] };
    }
    this.log.append(entries);
    this.needsFlush = true;
    return { index: first, term: this.term };
  }

  /** Requests a linearizable read; the answer comes as a ReadState or FailedRead. */
  readIndex(requestId: number): void {
    if (this.role !== "leader") return this.failRead(requestId, "not-leader");
    if (this.reads.size >= this.config.maxPendingReadsCount) {
      return this.failRead(requestId, "too-many-reads");
    }
    if (!this.leaderReady() && !this.config.injectedBugs.readBeforeLeaderCommit) {
      this.reads.notReady.push(requestId);
      return;
    }
    this.admitRead(requestId);
  }

  /** Transfers leadership to `nodeId` (or the most up-to-date voter). */
  transferLeader(nodeId?: NodeId): RaftError | undefined {
    if (this.role !== "leader") return new RaftError("not-leader", "not leader");
    const target = nodeId ?? this.mostCaughtUpVoter().id;
    if (nodeId === undefined && target === 0) {
      return new RaftError("invalid-node-id", "no other voter to transfer to");
    }
    if (target === this.id) return undefined;
    if (!this.members.isVoter(target) || !this.progress.has(target)) {
      return new RaftError("invalid-node-id", "invalid node id");
    }
    this.transferTargetId = target;
    this.transferElapsedTicks = 0;
    this.maybeSendTimeoutNow();
    this.needsFlush = true;
    return undefined;
  }

  /** Appends AddNonVoter(nodeId, addr); the leader promotes it once caught up. */
  addNode(nodeId: NodeId, addr: string): EntryPosition | RaftError {
    const refused = this.checkCanChangeMembership();
    if (refused) return refused;
    if (!Number.isInteger(nodeId) || nodeId <= 0 || nodeId > 0x7fffffff) {
      return new RaftError("invalid-node-id", "invalid node id");
    }
    if (this.members.isUsed(nodeId)) {
      return new RaftError("node-id-used", "node id has already been used in this cluster");
    }
    return this.appendEntry(EntryType.AddNonVoter, encodeMembershipChange({ nodeId, addr }));
  }

  /** Appends RemoveNode(nodeId). */
  removeNode(nodeId: NodeId): EntryPosition | RaftError {
    const refused = this.checkCanChangeMembership();
    if (refused) return refused;
    const member = this.members.member(nodeId);
    if (member === undefined) return new RaftError("unknown-node", "node id does not exist");
    // With no voter left nothing could commit again, this removal included: the cluster would
    // be stuck for good (non-voters cannot campaign).
    if (member.voter && this.members.voterIds().length === 1) {
      return new RaftError("last-voter", "cannot remove the only voting node");
    }
    // The new configuration takes effect on append: if too few of its voters answer now, not
    // even this removal could commit, and the cluster would stall until they came back (as
    // etcd's strict reconfiguration check refuses).
    const remaining = this.members.voterIds().filter((id) => id !== nodeId);
    const checked = !this.config.injectedBugs.removeWithoutQuorumCheck;
    if (member.voter && checked && !this.quorumReadyToCommit(remaining)) {
      return new RaftError(
        "quorum-unreachable",
        "cannot remove: too few of the remaining voting nodes are reachable and caught up to commit it",
      );
    }
    return this.appendEntry(
      EntryType.RemoveNode,
      encodeMembershipChange({ nodeId, addr: member.addr }),
    );
  }

  /**
   * Changes timing and batching at run time. Messages already in flight stay counted against
   * the new limits; a new election timeout is drawn at once (time already elapsed counts).
   * Refused with lease reads: a lease assumes every node's election timeout, which this
   * changes on one node.
   */
  tune(changes: Partial<RaftTunables>): RaftError | undefined {
    const electionChanged = changes.electionTicks !== undefined &&
      changes.electionTicks !== this.config.electionTicks;
    if (electionChanged && this.config.leaseReads) {
      return new RaftError("invalid-config", "election timeout is fixed with lease reads");
    }
    try {
      this.config = resolveRaftConfig({ ...this.config, ...changes });
    } catch (error) {
      return new RaftError("invalid-config", (error as Error).message);
    }
    if (electionChanged) this.drawElectionTimeout();
    for (const pr of this.progress.values()) {
      pr.inflights.resize(this.config.maxInflightAppendsCount);
    }
    this.needsFlush = true;
    return undefined;
  }

  /**
   * A leader steps down (same term, no leader known) and starts no election of its own for
   * `campaignHoldTicks`; it votes for others as usual. For a leader whose own link is the likely
   * fault: with its longer log it would otherwise win the next election again.
   */
  stepDown(campaignHoldTicks: number): RaftError | undefined {
    if (this.role !== "leader") return new RaftError("not-leader", "not leader");
    this.becomeFollower(this.term, 0);
    this.campaignHeldUntilTick = this.tickCount + campaignHoldTicks;
    return undefined;
  }

  /** RAFT.TIMEOUT_NOW: campaign at once, skipping pre-vote and leader stickiness. */
  campaign(): RaftError | undefined {
    if (!this.members.isVoter(this.id)) return new RaftError("not-voter", "not a voting member");
    if (this.role !== "leader") this.campaignNow(true);
    return undefined;
  }

  /**
   * The caller snapshotted its state machine at applied `index` (`sizeBytes` long).
   * Returns the metadata to store with it; the in-memory log drops entries <= index
   * (minus `compactionTrailingEntriesCount`).
   */
  compact(index: number, sizeBytes: number): SnapshotMeta {
    assert(index <= this.log.applied, `snapshot index ${index} beyond applied`);
    assert(index > 0 && index >= this.log.offsetIndex, `snapshot index ${index} too old`);
    assert(sizeBytes >= 1, "snapshot must not be empty");
    const meta: SnapshotMeta = {
      index,
      term: this.log.term(index),
      membership: this.members.at(index),
      sizeBytes,
    };
    assert(meta.term > 0, `no term for snapshot index ${index}`);
    // Entries not yet handed out for persisting stay in memory, also when they are already
    // committed and applied (a follower may apply entries committed before it persisted them).
    const dropTo = Math.min(
      Math.max(index - this.config.compactionTrailingEntriesCount, 0),
      this.log.unsentIndex - 1,
    );
    this.log.compact(dropTo, meta);
    this.members.onCompact(this.log.offsetIndex);
    if (this.role === "leader") {
      for (const pr of this.progress.values()) {
        if (pr.state === "snapshot") pr.becomeSnapshot(meta);
      }
      this.needsFlush = true;
    }
    return meta;
  }

  /** True when the transport should write this chunk's bytes (see types.ts). */
  isExpectedSnapshotChunk(m: InstallSnapshotMessage): boolean {
    if (m.term < this.term || m.meta.index <= this.log.committed) return false;
    // Holding the snapshot's last entry, this follower needs none of its bytes.
    if (this.log.matchTerm(m.meta.index, m.meta.term)) return false;
    if (m.offsetBytes === 0) return true;
    const recv = this.snapshotReceive;
    return recv !== undefined && recv.term === m.term && recv.index === m.meta.index &&
      recv.expectedOffsetBytes === m.offsetBytes;
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    if (this.needsFlush) this.flush();
    return this.msgs.length > 0 || this.msgsAfterPersist.length > 0 ||
      this.log.hasUnsentEntries() || this.log.hasCommittedToApply() ||
      this.readStates.length > 0 || this.failedReads.length > 0 ||
      this.pendingSnapshot !== undefined ||
      this.members.version !== this.reportedMembershipVersion ||
      !sameSoft(this.reportedSoft, this.softState()) ||
      !sameHard(this.reportedHard, this.hardState());
  }

  ready(): Ready {
    assert(this.outstanding === undefined, "ready() called before advance() of the previous Ready");
    if (this.needsFlush) this.flush();
    const soft = this.softState();
    const hard = this.hardState();
    const rd: Ready = {
      softState: sameSoft(soft, this.reportedSoft) ? undefined : soft,
      hardState: sameHard(hard, this.reportedHard) ? undefined : hard,
      snapshot: this.pendingSnapshot,
      entries: this.log.takeUnsentEntries(),
      messages: this.msgs,
      messagesAfterPersist: this.msgsAfterPersist,
      committedEntries: this.log.committedToApply(),
      readStates: this.readStates,
      failedReads: this.failedReads,
      membership: this.members.version !== this.reportedMembershipVersion
        ? this.members.current()
        : undefined,
    };
    this.reportedSoft = soft;
    this.reportedHard = hard;
    this.reportedMembershipVersion = this.members.version;
    this.pendingSnapshot = undefined;
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    this.failedReads = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * Entries committed after the outstanding Ready was handed out (by acks that arrived while
   * the caller persists it). The caller may apply them at once, in order, after that Ready's
   * own committed entries; they count as applied. Empty when no Ready is outstanding (the next
   * Ready carries them). This lets a leader apply batch N while batch N+1 is being synced.
   */
  takeCommittedEntries(): Entry[] {
    const rd = this.outstanding;
    // A snapshot handed out or waiting to be: entries after it wait until it is installed.
    if (rd === undefined || rd.snapshot !== undefined || this.pendingSnapshot !== undefined) {
      return [];
    }
    const handed = rd.committedEntries.length > 0
      ? rd.committedEntries[rd.committedEntries.length - 1].index
      : this.log.applied;
    const from = Math.max(this.log.applied, handed) + 1;
    if (this.log.committed < from) return [];
    const entries = this.log.slice(from, this.log.committed + 1);
    this.log.appliedTo(this.log.committed);
    return entries;
  }

  /**
   * On a leader, while the outstanding Ready's entries are being synced (its hard state already
   * durable): the messages produced since it was handed out, to send at once. They are
   * heartbeats (read rounds among them), a transfer's TimeoutNow and answers to pre-votes: none
   * depends on what is being synced, and a leader whose term was handed out already is durable
   * in that term. Appends of new entries are not among them (they wait for the next Ready, so
   * they go out in batches). Without this, a slow sync would hold the heartbeats back and the
   * followers would elect another leader, or the leader would step down for want of answers.
   */
  takeLeaderMessages(): Message[] {
    if (this.outstanding === undefined || this.role !== "leader") return [];
    if (this.term !== this.reportedHard.term) return [];
    const messages = this.msgs;
    this.msgs = [];
    return messages;
  }

  advance(rd: Ready): void {
    assert(rd === this.outstanding, "advance() with a Ready that is not the outstanding one");
    this.outstanding = undefined;
    if (rd.snapshot !== undefined) this.log.markSnapshotPersisted(rd.snapshot);
    this.log.markPersisted(rd.entries.length > 0);
    const applied = rd.committedEntries.length;
    if (applied > 0) {
      const last = rd.committedEntries[applied - 1].index;
      if (last > this.log.applied) this.log.appliedTo(last);
    }
    if (this.role === "leader" && rd.entries.length > 0) this.maybeCommit();
  }

  status(): RaftStatus {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commitIndex: this.log.committed,
      appliedIndex: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      heldEntriesBytes: this.log.heldBytes,
      snapshotIndex: this.log.snapshot?.index ?? 0,
      snapshotTerm: this.log.snapshot?.term ?? 0,
      membership: this.members.current(),
    };
  }

  /** Term of the entry at `index`, or -1 when it is not held (compacted or beyond the end). */
  logTerm(index: number): number {
    return this.log.term(index);
  }

  /** Current effective membership. */
  membership(): Membership {
    return this.members.current();
  }

  // ---------------------------------------------------------------- roles

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId, transferTargetId: this.transferTargetId };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.drawElectionTimeout();
  }

  private drawElectionTimeout(): void {
    const e = this.config.electionTicks;
    this.randomizedElectionTicks = e + Math.floor(this.config.random() * e);
  }

  private becomeFollower(term: number, leaderId: NodeId): void {
    assert(term >= this.term, "term must not decrease");
    if (this.role === "leader") this.stepDownLeader();
    if (term > this.term) {
      this.term = term;
      this.vote = 0;
    }
    this.role = "follower";
    this.leaderId = leaderId;
    this.votes.clear();
    this.resetElectionTimer();
  }

  private stepDownLeader(): void {
    for (const requestId of this.reads.drain()) this.failRead(requestId, "leadership-lost");
    this.reads = new ReadIndexQueue();
    this.progress.clear();
    this.transferTargetId = 0;
    this.quorumRoundSentTick = -Infinity;
    this.uncommittedBytes = 0;
  }

  private followLeader(leaderId: NodeId): void {
    if (this.role !== "follower") this.becomeFollower(this.term, leaderId);
    this.leaderId = leaderId;
    this.electionElapsed = 0;
    this.bootSticky = false;
  }

  private becomeLeader(): void {
    assert(this.role !== "leader", "already leader");
    this.role = "leader";
    this.leaderId = this.id;
    this.votes.clear();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.transferTargetId = 0;
    this.leaseRevoked = false;
    this.quorumRoundSentTick = -Infinity;
    this.uncommittedBytes = 0;
    this.reads = new ReadIndexQueue();
    this.progress.clear();
    this.quorumCheckTick = this.tickCount;
    this.syncProgress(false);
    const noop = this.appendEntry(EntryType.NoOp, emptyData) as EntryPosition;
    this.leaderStartIndex = noop.index;
  }

  /** Progress entries for every member but self, created at the end of the log. */
  private syncProgress(activeNow: boolean): void {
    const next = this.log.lastIndex() + 1;
    const ids = new Set<NodeId>();
    for (const member of this.members.current().members) {
      if (member.id === this.id) continue;
      ids.add(member.id);
      if (!this.progress.has(member.id)) {
        const pr = new Progress(
          next,
          this.config.maxInflightAppendsCount,
          this.config.maxInflightAppendsBytes,
        );
        if (activeNow) pr.lastHeardTick = this.tickCount;
        this.progress.set(member.id, pr);
      }
    }
    for (const id of this.progress.keys()) if (!ids.has(id)) this.progress.delete(id);
    if (this.transferTargetId !== 0 && !this.members.isVoter(this.transferTargetId)) {
      this.transferTargetId = 0;
    }
  }

  private tickFollower(): void {
    if (this.electionElapsed >= this.config.electionTicks) this.bootSticky = false;
    if (this.electionElapsed >= this.randomizedElectionTicks) {
      this.resetElectionTimer();
      const held = this.tickCount < this.campaignHeldUntilTick;
      if (this.members.isVoter(this.id) && !held) this.campaignNow(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    if (this.config.commitOnlyAppendsOnTick) {
      this.commitOnlyAppendsDue = true;
      this.needsFlush = true;
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, 0);
        return;
      }
    }
    if (this.transferTargetId !== 0 && ++this.transferElapsedTicks >= this.config.electionTicks) {
      this.transferTargetId = 0; // transfer timed out
    }
    for (const pr of this.progress.values()) {
      if (pr.state === "replicate" && pr.inflights.size > 0) {
        if (++pr.ticksSinceAck >= this.config.electionTicks / 2) {
          pr.becomeProbe(); // appends in flight but none acknowledged for a while: assume lost
          this.needsFlush = true;
        }
      } else {
        pr.ticksSinceAck = 0;
      }
      if (pr.snapshot !== undefined && ++pr.snapshot.idleTicks >= this.config.electionTicks) {
        pr.snapshot.idleTicks = 0;
        pr.snapshot.nextOffsetBytes = pr.snapshot.ackedOffsetBytes;
        pr.snapshot.inflightChunksCount = 0;
        this.needsFlush = true;
      }
    }
    // A read round sent to a quorum only and still unconfirmed a whole tick later: one of
    // those voters is slow or gone, so ask everyone (once; then at the heartbeat interval).
    const oldestRoundTick = this.reads.oldestRoundSentTick();
    const roundStalled = this.config.readRoundsToQuorumOnly && oldestRoundTick >= 0 &&
      oldestRoundTick + 1 < this.tickCount && this.fullRoundTick <= oldestRoundTick;
    if (this.heartbeatElapsed >= this.config.heartbeatTicks || roundStalled) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /**
   * Whether a quorum of `voters` could commit with this leader now: each answered lately (within
   * two heartbeats, a live follower answers each; at most an election timeout) and takes the
   * leader's appends as they come (replicate state), not catching up by a snapshot or probing
   * for where its log matches, which can take long. Short, as a node that died a moment ago still
   * counts: a live one missed now and then only makes the caller try again.
   */
  private quorumReadyToCommit(voters: readonly NodeId[]): boolean {
    const windowTicks = Math.min(this.config.electionTicks, 2 * this.config.heartbeatTicks + 2);
    let ready = 0;
    for (const id of voters) {
      const pr = this.progress.get(id);
      const recent = pr !== undefined && pr.lastHeardTick >= 0 &&
        this.tickCount - pr.lastHeardTick <= windowTicks;
      if (id === this.id || (recent && pr.state === "replicate")) ready++;
    }
    return ready >= quorumOf(voters.length);
  }

  private quorumActive(): boolean {
    let active = 0;
    const voters = this.members.voterIds();
    for (const id of voters) {
      if (id === this.id) active++;
      else if ((this.progress.get(id)?.lastHeardTick ?? -1) >= this.quorumCheckTick) active++;
    }
    // This runs inside tick(), after the count advanced: later answers carry this tick.
    this.quorumCheckTick = this.tickCount;
    return active >= quorumOf(voters.length);
  }

  /** True while this node believes a leader is alive (it then ignores vote requests). */
  private inLease(): boolean {
    if (!this.config.checkQuorum) return false;
    if (this.role === "leader") return true;
    return (this.leaderId !== 0 || this.bootSticky) &&
      this.electionElapsed < this.config.electionTicks;
  }

  private campaignNow(transfer: boolean): void {
    const voters = this.members.voterIds();
    if (this.config.preVote && !transfer) {
      this.role = "pre-candidate";
      this.leaderId = 0;
      this.votes.clear();
      this.votes.set(this.id, true);
      if (this.countVotes(true) >= quorumOf(voters.length)) return this.campaignNow(true);
      this.sendVoteRequests(this.term + 1, true, false);
      return;
    }
    this.becomeFollower(this.term + 1, 0);
    this.role = "candidate";
    this.vote = this.id;
    this.votes.set(this.id, true);
    if (this.countVotes(true) >= quorumOf(voters.length)) return this.becomeLeader();
    this.sendVoteRequests(this.term, false, transfer);
  }

  private sendVoteRequests(term: number, preVote: boolean, transfer: boolean): void {
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.members.voterIds()) {
      if (id === this.id) continue;
      const m: RequestVoteMessage = {
        type: MessageType.RequestVote,
        from: this.id,
        to: id,
        term,
        preVote,
        transfer,
        lastIndex,
        lastTerm,
      };
      // A real candidate's self-vote must be durable before it asks for votes.
      if (preVote || this.config.injectedBugs.sendVotesBeforePersist) this.msgs.push(m);
      else this.msgsAfterPersist.push(m);
    }
  }

  private countVotes(granted: boolean): number {
    let n = 0;
    for (const id of this.members.voterIds()) if (this.votes.get(id) === granted) n++;
    return n;
  }

  private handleRequestVote(m: RequestVoteMessage): void {
    const canVote = this.vote === m.from ||
      (this.vote === 0 && this.leaderId === 0) ||
      (m.preVote && m.term > this.term);
    const grant = canVote &&
      (this.log.isUpToDate(m.lastIndex, m.lastTerm) ||
        this.config.injectedBugs.voteWithoutLogCheck === true);
    if (grant && !m.preVote) {
      this.vote = m.from;
      this.electionElapsed = 0;
    }
    const response: RequestVoteResponseMessage = {
      type: MessageType.RequestVoteResponse,
      from: this.id,
      to: m.from,
      term: grant && m.preVote ? m.term : this.term,
      preVote: m.preVote,
      granted: grant,
    };
    if (m.preVote || this.config.injectedBugs.sendVotesBeforePersist) this.msgs.push(response);
    else this.msgsAfterPersist.push(response);
  }

  private handleVoteResponse(m: RequestVoteResponseMessage): void {
    const expected = m.preVote ? "pre-candidate" : "candidate";
    if (this.role !== expected) return;
    if (m.preVote && m.granted && m.term !== this.term + 1) return;
    this.votes.set(m.from, m.granted);
    const quorum = quorumOf(this.members.voterIds().length);
    if (this.countVotes(true) >= quorum) {
      if (m.preVote) this.campaignNow(true);
      else this.becomeLeader();
    } else if (this.countVotes(false) >= quorum) {
      this.becomeFollower(this.term, 0);
    }
  }

  /** Messages from an older term: tell a stale leader about the newer term. */
  private stepStale(m: Message): void {
    const staleLeader = m.type === MessageType.AppendEntries || m.type === MessageType.Heartbeat ||
      m.type === MessageType.InstallSnapshot;
    if (staleLeader) {
      // Raft Figure 2: answer with our term, so that a stale leader steps down. Also without
      // pre-vote and CheckQuorum: a candidate whose log lists that leader as a non-voter never
      // asks it for a vote, and neither side would ever learn of the other (found by the
      // simulation: a stale leader of two voters and a candidate asking only a removed node).
      this.msgs.push(this.appendResponse(m.from, false, 0));
    } else if (m.type === MessageType.RequestVote) {
      // Raft Figure 2: reject with our term so that the candidate catches up. Otherwise a
      // candidate that no other candidate asks for votes (a voter that is a non-voter in
      // their logs) never learns the current term and keeps campaigning in stale terms.
      this.msgs.push({
        type: MessageType.RequestVoteResponse,
        from: this.id,
        to: m.from,
        term: this.term,
        preVote: m.preVote,
        granted: false,
      });
    }
  }

  // ---------------------------------------------------------------- follower replication

  private appendResponse(
    to: NodeId,
    success: boolean,
    index: number,
    conflictIndex = 0,
    conflictTerm = 0,
  ): AppendEntriesResponseMessage {
    return {
      type: MessageType.AppendEntriesResponse,
      from: this.id,
      to,
      term: this.term,
      success,
      index,
      lastIndex: this.log.lastIndex(),
      conflictIndex,
      conflictTerm,
    };
  }

  private handleAppendEntries(m: AppendEntriesMessage): void {
    const log = this.log;
    let prevIndex = m.prevIndex;
    let prevTerm = m.prevTerm;
    let entries = m.entries;
    if (prevIndex < log.committed) {
      // Everything up to our commit index matches the leader: skip that part.
      const skip = log.committed - prevIndex;
      if (skip >= entries.length) {
        this.msgsAfterPersist.push(this.appendResponse(m.from, true, log.committed));
        return;
      }
      entries = entries.slice(skip);
      prevIndex = log.committed;
      prevTerm = log.term(prevIndex);
    }
    if (!log.matchTerm(prevIndex, prevTerm)) {
      const hintIndex = this.findConflictByTerm(Math.min(prevIndex, log.lastIndex()), prevTerm);
      this.msgsAfterPersist.push(
        this.appendResponse(m.from, false, m.prevIndex, hintIndex, log.term(hintIndex)),
      );
      return;
    }
    if (entries.length > 0) {
      const oldLastIndex = log.lastIndex();
      const firstNew = log.appendFollower(entries);
      if (firstNew > 0) {
        if (firstNew <= oldLastIndex) this.members.onTruncate(firstNew);
        for (const entry of entries) {
          if (entry.index >= firstNew && isMembershipEntry(entry)) this.members.onAppend(entry);
        }
      }
    }
    const lastNew = prevIndex + entries.length;
    log.commitTo(Math.min(m.commit, lastNew));
    const ack = this.appendResponse(m.from, true, lastNew);
    if (this.config.injectedBugs.ackAppendBeforePersist) this.msgs.push(ack);
    else this.msgsAfterPersist.push(ack);
  }

  /** Largest index <= `index` whose term is <= `term` (bounded below by the offset). */
  private findConflictByTerm(index: number, term: number): number {
    let i = index;
    while (i > this.log.offsetIndex && this.log.term(i) > term) i--;
    return i;
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const response: HeartbeatResponseMessage = {
      type: MessageType.HeartbeatResponse,
      from: this.id,
      to: m.from,
      term: this.term,
      readSeq: m.readSeq,
      lastIndex: this.log.lastIndex(),
    };
    this.msgs.push(response);
  }

  private handleInstallSnapshot(m: InstallSnapshotMessage): void {
    const meta = m.meta;
    const respond = (nextOffsetBytes: number, rejected: boolean, done: boolean) => {
      const response: InstallSnapshotResponseMessage = {
        type: MessageType.InstallSnapshotResponse,
        from: this.id,
        to: m.from,
        term: this.term,
        snapshotIndex: meta.index,
        nextOffsetBytes,
        rejected,
        done,
      };
      if (done) this.msgsAfterPersist.push(response);
      else this.msgs.push(response);
    };
    if (meta.index <= this.log.committed) {
      respond(meta.sizeBytes, false, true);
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: its prefix is committed, keep the log. Said
      // at the first chunk: none is written, and the leader goes back to appends.
      this.snapshotReceive = undefined;
      this.log.commitTo(meta.index);
      respond(meta.sizeBytes, false, true);
      return;
    }
    if (!this.isExpectedSnapshotChunk(m)) {
      const recv = this.snapshotReceive;
      const sameSnapshot = recv !== undefined && recv.term === m.term && recv.index === meta.index;
      respond(sameSnapshot ? recv.expectedOffsetBytes : 0, true, false);
      return;
    }
    if (m.offsetBytes === 0) {
      this.snapshotReceive = { term: m.term, index: meta.index, expectedOffsetBytes: 0 };
    }
    const recv = this.snapshotReceive!;
    recv.expectedOffsetBytes += m.lengthBytes;
    if (!m.last) {
      respond(recv.expectedOffsetBytes, false, false);
      return;
    }
    assert(recv.expectedOffsetBytes === meta.sizeBytes, "snapshot size mismatch on last chunk");
    this.snapshotReceive = undefined;
    this.log.installSnapshot(meta);
    this.members.reset(meta.membership, meta.index);
    this.pendingSnapshot = meta;
    respond(meta.sizeBytes, false, true);
  }

  // ---------------------------------------------------------------- leader replication

  private checkCanPropose(): RaftError | undefined {
    if (this.role !== "leader") return new RaftError("not-leader", "not leader");
    if (this.transferTargetId !== 0) {
      return new RaftError("transfer-in-progress", "leadership transfer in progress");
    }
    return undefined;
  }

  private checkCanChangeMembership(): RaftError | undefined {
    const refused = this.checkCanPropose();
    if (refused) return refused;
    if (!this.leaderReady()) {
      return new RaftError("leader-not-ready", "leader has not committed an entry of its term");
    }
    if (this.members.lastChangeIndex() > this.log.committed) {
      return new RaftError("membership-change-pending", "one voting change only");
    }
    return undefined;
  }

  private leaderReady(): boolean {
    return this.role === "leader" && this.log.committed >= this.leaderStartIndex;
  }

  /** Leader-side append of one entry of any type. */
  private appendEntry(type: EntryType, data: Uint8Array): EntryPosition {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append([entry]);
    if (isMembershipEntry(entry)) {
      this.members.onAppend(entry);
      if (this.role === "leader") {
        this.syncProgress(true);
        this.maybeCommit();
      }
    }
    this.needsFlush = true;
    return { index: entry.index, term: entry.term };
  }

  /** Sends whatever each follower can take now. */
  private flush(): void {
    this.needsFlush = false;
    if (this.role !== "leader") return;
    for (const [id, pr] of this.progress) this.sendAppend(id, pr);
    this.commitOnlyAppendsDue = false;
    // A bounded number of read rounds in flight: reads arriving beyond share the next one (which
    // goes out when an earlier one is confirmed, or with the next heartbeat if one is lost).
    if (
      this.reads.needsRound() &&
      this.reads.roundsInFlight() < this.config.maxReadRoundsInFlightCount
    ) this.broadcastHeartbeat(this.config.readRoundsToQuorumOnly);
    this.maybePromoteLearner();
  }

  private sendAppend(id: NodeId, pr: Progress): void {
    const log = this.log;
    const last = log.lastIndex();
    for (;;) {
      if (pr.state === "snapshot") return this.sendSnapshotChunks(id, pr);
      if (pr.state === "probe" && pr.probeSent) return;
      if (pr.state === "replicate" && pr.inflights.full()) return;
      const prevIndex = pr.next - 1;
      const prevTerm = log.term(prevIndex);
      if (prevTerm < 0 || prevIndex < log.offsetIndex) {
        assert(log.snapshot !== undefined, `no snapshot to replace compacted index ${prevIndex}`);
        pr.becomeSnapshot(log.snapshot);
        continue;
      }
      const hasEntries = pr.next <= last;
      if (!hasEntries && pr.state === "replicate") {
        if (pr.sentCommit >= log.committed) return;
        if (this.config.commitOnlyAppendsOnTick && !this.commitOnlyAppendsDue) return;
      }
      const entries = hasEntries
        ? log.slice(
          pr.next,
          last + 1,
          this.config.maxAppendEntriesCount,
          this.config.maxAppendEntriesBytes,
        )
        : [];
      const m: AppendEntriesMessage = {
        type: MessageType.AppendEntries,
        from: this.id,
        to: id,
        term: this.term,
        prevIndex,
        prevTerm,
        entries,
        commit: log.committed,
      };
      this.msgs.push(m);
      pr.sentCommit = log.committed;
      if (pr.state === "probe") {
        pr.probeSent = true;
        return;
      }
      if (entries.length === 0) return;
      let bytes = 0;
      for (const entry of entries) bytes += entry.data.length;
      const lastSent = entries[entries.length - 1].index;
      pr.inflights.add(lastSent, bytes);
      pr.next = lastSent + 1;
    }
  }

  private sendSnapshotChunks(id: NodeId, pr: Progress): void {
    const transfer = pr.snapshot!;
    const size = transfer.meta.sizeBytes;
    const chunk = this.config.snapshotChunkBytes;
    while (
      transfer.inflightChunksCount < this.config.maxInflightSnapshotChunksCount &&
      transfer.nextOffsetBytes < size
    ) {
      const offsetBytes = transfer.nextOffsetBytes;
      const lengthBytes = Math.min(chunk, size - offsetBytes);
      this.msgs.push({
        type: MessageType.InstallSnapshot,
        from: this.id,
        to: id,
        term: this.term,
        meta: transfer.meta,
        offsetBytes,
        lengthBytes,
        last: offsetBytes + lengthBytes === size,
      });
      transfer.nextOffsetBytes += lengthBytes;
      transfer.inflightChunksCount++;
    }
  }

  /**
   * Sends a heartbeat round (a new read sequence) to every follower, or with `quorumOnly` to the
   * voters most recently heard from that make a quorum with this leader.
   */
  private broadcastHeartbeat(quorumOnly = false): void {
    const seq = this.reads.startRound(this.tickCount);
    if (!quorumOnly) this.fullRoundTick = this.tickCount;
    const targets = quorumOnly ? this.readRoundTargets() : this.progress.keys();
    for (const id of targets) {
      const pr = this.progress.get(id)!;
      const m: HeartbeatMessage = {
        type: MessageType.Heartbeat,
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        readSeq: seq,
      };
      this.msgs.push(m);
      // Appends sent before this heartbeat reach the follower before it (FIFO link); its
      // answer tells whether they arrived (see handleHeartbeatResponse).
      if (pr.state === "replicate" && pr.heartbeatCheckSeq === 0 && pr.next - 1 > pr.match) {
        pr.heartbeatCheckSeq = seq;
        pr.heartbeatCheckIndex = pr.next - 1;
      }
    }
    // A leader alone (or the only voter) confirms its rounds by itself.
    this.maybeConfirmReads();
  }

  /** The other voters a read round needs: those that acknowledged the latest rounds. */
  private readRoundTargets(): NodeId[] {
    const voters = this.members.voterIds();
    const others: NodeId[] = [];
    for (const id of voters) if (id !== this.id && this.progress.has(id)) others.push(id);
    const needed = quorumOf(voters.length) - (this.members.isVoter(this.id) ? 1 : 0);
    if (needed >= others.length) return others;
    others.sort((a, b) =>
      this.progress.get(b)!.readSeqAcked - this.progress.get(a)!.readSeqAcked || a - b
    );
    return others.slice(0, needed);
  }

  private handleAppendResponse(m: AppendEntriesResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.lastHeardTick = this.tickCount;
    if (!m.success) {
      // The follower's hint: its last index <= prevIndex with a term <= our prevTerm. Skip
      // back over our entries of later terms than the hint's: they cannot match either.
      let i = Math.min(m.conflictIndex, this.log.lastIndex());
      while (i > this.log.offsetIndex && this.log.term(i) > m.conflictTerm) i--;
      if (pr.maybeDecrTo(m.index, i + 1)) this.needsFlush = true;
      return;
    }
    pr.ticksSinceAck = 0;
    // A probe answered at the index the follower already matched (a probe after a snapshot, with
    // nothing new to send) succeeded as well: without this, leader and follower would trade
    // empty appends and acks back to back until the next entry.
    const probeMatched = pr.state === "probe" && pr.match === m.index;
    if (pr.maybeUpdate(m.index) || probeMatched) {
      if (pr.state === "probe") pr.becomeReplicate();
      pr.inflights.freeLE(m.index);
      this.maybeCommit();
      this.maybeSendTimeoutNow();
      this.needsFlush = true;
    } else if (pr.state === "probe" && pr.probeSent) {
      pr.probeSent = false;
      this.needsFlush = true;
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.lastHeardTick = this.tickCount;
    const followerLast = m.lastIndex;
    if (pr.state === "probe") {
      pr.probeSent = false;
      // Probe from the follower's end rather than past it: saves a rejection round trip.
      if (followerLast + 1 < pr.next) pr.next = Math.max(pr.match, followerLast) + 1;
    } else if (pr.state === "replicate" && pr.heartbeatCheckSeq !== 0) {
      if (m.readSeq >= pr.heartbeatCheckSeq) {
        const sentBefore = pr.heartbeatCheckIndex;
        pr.heartbeatCheckSeq = 0;
        // Appends sent before the heartbeat never arrived: resend them now rather than
        // when ticksSinceAck expires (an idle leader sends nothing else that would reveal
        // the gap). A reordering network may make this a harmless duplicate. A follower
        // whose log is not shorter, holding a stale tail where the lost entries belong, is
        // not seen here: the ticksSinceAck timeout in tickLeader still covers it.
        if (followerLast < sentBefore && followerLast + 1 < pr.next) {
          pr.resendAfter(followerLast);
          this.needsFlush = true;
        }
      }
    }
    if (pr.match < this.log.lastIndex() || pr.sentCommit < this.log.committed) {
      this.needsFlush = true;
    }
    if (m.readSeq > pr.readSeqAcked) {
      pr.readSeqAcked = m.readSeq;
      this.maybeConfirmReads();
    }
  }

  private handleSnapshotResponse(m: InstallSnapshotResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.lastHeardTick = this.tickCount;
    if (m.done) {
      if (pr.state === "snapshot" || pr.match < m.snapshotIndex) {
        pr.maybeUpdate(m.snapshotIndex);
        pr.becomeProbe();
        this.maybeCommit();
        this.needsFlush = true;
      }
      return;
    }
    const transfer = pr.snapshot;
    if (transfer === undefined || transfer.meta.index !== m.snapshotIndex) return;
    transfer.idleTicks = 0;
    if (m.rejected) {
      transfer.nextOffsetBytes = m.nextOffsetBytes;
      transfer.ackedOffsetBytes = m.nextOffsetBytes;
      transfer.inflightChunksCount = 0;
    } else {
      transfer.ackedOffsetBytes = Math.max(transfer.ackedOffsetBytes, m.nextOffsetBytes);
      transfer.inflightChunksCount = Math.max(0, transfer.inflightChunksCount - 1);
    }
    this.needsFlush = true;
  }

  /** Commit = highest index held by a quorum of voters, if it is of the current term. */
  private maybeCommit(): void {
    const voters = this.members.voterIds();
    if (voters.length === 0) return;
    // Correct: the leader's own entries count once durable (advance). Bug switch: at once.
    const selfMatch = this.config.injectedBugs.countSelfBeforeFsync
      ? this.log.lastIndex()
      : this.log.stableIndex;
    const matches: number[] = [];
    for (const id of voters) {
      if (id === this.id) matches.push(selfMatch);
      else matches.push(this.progress.get(id)?.match ?? 0);
    }
    matches.sort((a, b) => b - a);
    const candidate = matches[quorumOf(voters.length) - 1];
    if (candidate <= this.log.committed) return;
    if (this.log.term(candidate) !== this.term && !this.config.injectedBugs.commitOldTermEntries) {
      return;
    }
    const before = this.log.committed;
    this.log.commitTo(candidate);
    this.onLeaderCommit(before);
  }

  private onLeaderCommit(before: number): void {
    const committed = this.log.committed;
    let bytes = 0;
    for (let i = before + 1; i <= committed; i++) bytes += this.log.dataBytes(i);
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
    this.needsFlush = true;
    if (before < this.leaderStartIndex && committed >= this.leaderStartIndex) {
      for (const requestId of this.reads.notReady) this.admitRead(requestId);
      this.reads.notReady = [];
    }
    // A leader whose own removal is committed steps down.
    if (!this.members.member(this.id) && this.members.lastChangeIndex() <= committed) {
      this.becomeFollower(this.term, 0);
    }
  }

  /** The other voter with the highest acknowledged match (id 0, match -1 with none). */
  private mostCaughtUpVoter(): { id: NodeId; match: number } {
    let best = { id: 0, match: -1 };
    for (const id of this.members.voterIds()) {
      const pr = this.progress.get(id);
      if (id !== this.id && pr !== undefined && pr.match > best.match) {
        best = { id, match: pr.match };
      }
    }
    return best;
  }

  private maybeSendTimeoutNow(): void {
    const target = this.transferTargetId;
    if (target === 0) return;
    const pr = this.progress.get(target);
    if (pr === undefined || pr.match !== this.log.lastIndex()) return;
    this.leaseRevoked = true;
    this.msgs.push({ type: MessageType.TimeoutNow, from: this.id, to: target, term: this.term });
  }

  private maybePromoteLearner(): void {
    if (!this.leaderReady() || this.transferTargetId !== 0) return;
    if (this.members.lastChangeIndex() > this.log.committed) return;
    const threshold = this.log.lastIndex() - this.config.learnerCatchUpEntries;
    for (const member of this.members.current().members) {
      if (member.voter) continue;
      const pr = this.progress.get(member.id);
      if (pr === undefined || pr.match < threshold) continue;
      if (pr.match < this.members.lastChangeIndex()) continue; // it must hold its own addition
      this.appendEntry(
        EntryType.AddVoter,
        encodeMembershipChange({ nodeId: member.id, addr: member.addr }),
      );
      return;
    }
  }

  // ---------------------------------------------------------------- reads

  private failRead(requestId: number, reason: ReadFailureReason): void {
    this.failedReads.push({ requestId, reason });
  }

  private leaseValid(): boolean {
    return this.config.leaseReads && !this.leaseRevoked && this.transferTargetId === 0 &&
      this.tickCount < this.quorumRoundSentTick + this.config.electionTicks -
          this.config.leaseSafetyMarginTicks;
  }

  private admitRead(requestId: number): void {
    const index = this.log.committed;
    if (this.leaseValid()) {
      this.readStates.push({ requestId, index });
      return;
    }
    this.reads.add(requestId, index);
    this.needsFlush = true;
  }

  private maybeConfirmReads(): void {
    const voters = this.members.voterIds();
    if (voters.length === 0) return;
    const seqs: number[] = [];
    for (const id of voters) {
      if (id === this.id) seqs.push(this.reads.lastSentSeq);
      else seqs.push(this.progress.get(id)?.readSeqAcked ?? 0);
    }
    seqs.sort((a, b) => b - a);
    const { reads, roundSentTick } = this.reads.confirm(seqs[quorumOf(voters.length) - 1]);
    if (roundSentTick >= 0 && roundSentTick > this.quorumRoundSentTick) {
      this.quorumRoundSentTick = roundSentTick;
    }
    for (const read of reads) {
      this.readStates.push({ requestId: read.requestId, index: read.index });
    }
    if (this.reads.needsRound()) this.needsFlush = true;
  }
}

function quorumOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId &&
    a.transferTargetId === b.transferTargetId;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
