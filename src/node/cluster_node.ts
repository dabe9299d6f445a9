/**
 * @module
 * The node: drives the pure Raft core (ticks, Ready handling in the order the core documents),
 * persists through the segmented log, applies committed entries in order to the redis child and
 * routes each reply back to the client that proposed the entry. Implements what the
 * client-facing server needs (`NodeApi`).
 */
import { TickClock } from "./tick_clock.ts";
import { EntryClock, snapshotEntryTimeMs } from "./entry_clock.ts";
import { SlowLogSync } from "./slow_log_sync.ts";
import { slowLinkCampaignHoldElectionTimeouts, SlowQuorumRounds } from "./slow_quorum_rounds.ts";
import { ChildBacklog } from "./child_backlog.ts";
import type { Config, CrashPoint } from "../config/config_schema.ts";
import { invalidTunables, quorumReadModeOf, raftTunables } from "./raft_settings.ts";
import {
  type Answerable,
  type CommandParts,
  PipelinedConnection,
} from "../redis/pipelined_connection.ts";
import { CommandTable } from "../redis/command_table.ts";
import { RedisChild } from "../redis/redis_child.ts";
import {
  type Entry,
  type EntryPosition,
  EntryType,
  type Membership,
  type Message,
  MessageType,
  type NodeId,
  RaftError,
  RaftNode,
  type Ready,
  type Role,
  type SnapshotMeta,
} from "../raft/mod.ts";
import { decodeReply, encodeCommand } from "../resp/mod.ts";
import {
  digestIdleAttempts,
  stateDigestCommands,
  stateDigestOf,
  stateDigestReplyCount,
} from "./state_digest.ts";
import { encodeError, encodeInteger } from "../server/replies.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import type { ClientSession } from "../server/client_session.ts";
import { Errors } from "../server/errors.ts";
import type { DataRoute, NodeApi, NodeState } from "../server/node_api.ts";
import { LeaderProxy } from "./leader_proxy.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { type LogStorage, openLogStorage } from "./log_storage.ts";
import { makeDurableDir } from "../storage/atomic_file.ts";
import { archiveMemberFiles } from "./member_archive.ts";
import {
  encodeBatchPayload,
  encodePayload,
  isBatchablePayload,
  PayloadKind,
  payloadTimeMs,
  stampPayload,
} from "./entry_payload.ts";
import { type BatchedWrite, BatchSlot, WriteBatcher } from "./write_batch.ts";
import { ApplyLoop } from "./apply_loop.ts";
import { startRdbSnapshot } from "../redis/rdb_snapshot.ts";
import { installRdb, waitChildLoaded } from "../redis/rdb_install.ts";
import { type SnapshotHost, SnapshotManager } from "./snapshot_manager.ts";
import { SnapshotTrigger } from "./snapshot_trigger.ts";
import { lockDataDir } from "./dir_lock.ts";
import { BlockedClients, encodeWaitEnd, type Waiter } from "./blocked_clients.ts";
import { ScriptRegistry, snapshotScripts } from "./script_registry.ts";
import { ScriptSandbox } from "../server/script_sandbox.ts";
import type { Logger } from "./logger.ts";
import {
  loadIdentity,
  type NodeIdentity,
  randomDbid,
  randomNodeId,
  saveIdentity,
} from "./node_identity.ts";
import { PendingWrites } from "./pending_requests.ts";
import { type PendingRead, ReadBarrier } from "./read_barrier.ts";
import { ReplicaWaits } from "./replica_waits.ts";
import { ChildConfig } from "./child_config.ts";
import { atTimeParts } from "./child_clock.ts";
import { handleAdminCommand } from "./admin_commands.ts";
import { openChildInvalidations } from "./child_invalidations.ts";
import type { InvalidationSink, TrackingStats } from "../server/client_tracking.ts";
import { PeerHub } from "../peer/peer_hub.ts";
import { decodeMessage } from "../peer/message_codec.ts";
import { adminRequest } from "../peer/admin_client.ts";
import { AppliedWaiters } from "./applied_waiters.ts";
import { SessionOrder } from "./session_order.ts";
import { PubSubSessions } from "./pubsub_sessions.ts";
import { encodeWatchHistory, WatchHistory, type WatchHistoryState } from "./watch_history.ts";
import { readTrailer, type TrailerContent } from "./snapshot_trailer.ts";
import type { ClientRegistry } from "../server/client_registry.ts";

/** How long a lost connection to the child waits for the child's exit to be the reason given. */
const childExitGraceMs = 500;

/** What a client gets when the child has not answered its command within the request timeout. */
const requestTimeoutReply = encodeError(Errors.requestTimeout);

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

export interface NodeStats {
  startedAtMs: number;
}

export class ClusterNode implements NodeApi {
  state: NodeState = "uninitialized";
  commands!: CommandTable;
  sandbox!: ScriptSandbox;
  readonly scripts: ScriptRegistry;
  identity: NodeIdentity | null = null;
  /** Stops the process as SIGTERM does (set by main); SHUTDOWN calls it. */
  shutdownProcess: ((why: string) => void) | null = null;
  raft: RaftNode | null = null;
  storage: LogStorage | null = null;
  role: Role | "(none)" = "(none)";
  leaderId = 0;
  membership: Membership = { members: [], usedNodeIds: [] };
  /** Last entry index handed to the child (the child connection is ordered). */
  appliedIndex = 0;
  /** True once this leader applied an entry of its own term (it may serve then). */
  leaderReady = false;
  currentTerm = 0;
  readonly stats: NodeStats = { startedAtMs: performance.now() };
  /**
   * Wall-clock second of this node's last snapshot, taken or installed, or of its start (LASTSAVE,
   * INFO's rdb_last_save_time): the child's own clock follows the log's entries.
   */
  lastSaveTimeSec = nowSec();

  peers: PeerHub | null = null;
  /** Addresses of members, kept after they leave so the leader can tell them to shut down. */
  private readonly removedAddrs = new Map<number, string>();
  readonly applied = new AppliedWaiters();
  readonly counters = {
    appendReqReceived: 0,
    appendReqWithEntryReceived: 0,
    snapshotReqReceived: 0,
  };
  private readonly child: RedisChild;
  private childConn!: PipelinedConnection;
  private readonly pendingWrites = new PendingWrites();
  private readonly writeBatcher = new WriteBatcher(
    () => this.config.writeBatchMaxBytes,
    (writes) => this.proposeBatched(writes),
  );
  /** Subscribers on this node's child; closed when it stops leading. */
  private readonly pubsubSessions: PubSubSessions;
  /**
   * `--requirepass` as the node started: the cluster password when none is set, and it stays
   * so when CONFIG SET changes the clients' password (peers would otherwise be locked out).
   */
  private readonly startRequirepass: string;
  readonly leaderProxy = new LeaderProxy(
    () => this.config.proxyResponseTimeoutMs,
    () => this.config.requirepass,
  );
  private readonly watchHistory: WatchHistory;
  readonly blocked = new BlockedClients();
  private readonly entryClock = new EntryClock();
  /** A leader's look at its keyspace for a clock tick is in flight. */
  private clockTickChecking = false;
  private readonly childBacklog: ChildBacklog;
  private readonly slowLogSync: SlowLogSync;
  private readonly slowQuorumRounds: SlowQuorumRounds;
  /**
   * While the Raft loop waits for the log sync of a Ready whose hard state is durable already:
   * when that sync began (undefined otherwise).
   */
  private entriesSyncStartedMs: number | undefined;
  /** When the leader last asked its child whether any key has a deadline. */
  private lastClockCheckMs = 0;
  /** Replicated CONFIG SET values in force (kept in snapshots). */
  private readonly childConfig = new ChildConfig();
  private readonly applyLoop: ApplyLoop;
  readonly snapshots: SnapshotManager;
  private readonly snapshotTrigger = new SnapshotTrigger();
  /** This node's lock on its data directory, held until it stops. */
  private dirLock: Deno.FsFile | null = null;
  /** Stale reads wait until this is applied: what the node may have served before a restart. */
  private staleReadFloorIndex = 0;
  /** Committed entries waiting for this node's log to write them (see applyCommitted). */
  private committedUnwritten: Entry[] = [];
  private leaderSeen = false;
  private readonly reads: ReadBarrier;
  /** Clients in WAIT (leader only). */
  private readonly replicaWaits = new ReplicaWaits();
  private readonly replicasHolding = (index: number): number =>
    this.raft?.replicasHolding(index) ?? 0;
  private processing = false;
  /** Resolves when the current run of the Ready loop ends. */
  private processRun: Promise<void> = Promise.resolve();
  private processAgain = false;
  /** The outstanding Ready's committed entries are in the apply loop (later ones may follow). */
  private readyCommittedPushed = false;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private tickClock: TickClock | undefined;
  private stopped = false;
  /** What `quorum-reads yes` means here: lease if this node's core runs leases (or will). */
  private quorumReadMode: "linearizable" | "lease";

  constructor(
    readonly config: Config,
    readonly log: Logger,
    /** The client connections on this node's port (INFO's Clients section counts them). */
    readonly clients: ClientRegistry,
  ) {
    this.quorumReadMode = quorumReadModeOf(config.readMode);
    this.pubsubSessions = new PubSubSessions(
      () => this.child.socketPath,
      () => this.config.clientReplyBufferMaxBytes,
      clients,
    );
    this.startRequirepass = config.requirepass;
    this.scripts = new ScriptRegistry(config.scriptsMaxCount, config.scriptsMaxBytes);
    this.watchHistory = new WatchHistory(
      { maxEntries: config.watchHistoryMaxEntries, maxBytes: config.watchHistoryMaxBytes },
      () => this.commands,
    );
    this.snapshots = new SnapshotManager(
      config.dir,
      config.snapshotReceiveMaxBytes,
      this.snapshotHost(),
    );
    this.applyLoop = new ApplyLoop({
      child: () => this.childConn,
      commands: () => this.commands,
      pendingWrites: this.pendingWrites,
      scripts: this.scripts,
      watchHistory: this.watchHistory,
      blocked: this.blocked,
      childConfig: this.childConfig,
      childClock: () => this.child.hasClock,
      sandboxText: (text) => this.sandbox.wrap(text),
      nowMs: () => performance.now(),
      applied: (entry) => this.finishApply(entry),
      nodeRemoved: (nodeId) => this.onNodeRemoved(nodeId),
      fatal: (message) => this.fatal(message),
    });
    this.childBacklog = new ChildBacklog(() => this.childConn, config, log);
    this.slowLogSync = new SlowLogSync(config);
    this.slowQuorumRounds = new SlowQuorumRounds(config);
    this.child = new RedisChild({
      redisServer: config.redisServer,
      dir: `${config.dir}/redis`,
      startTimeoutMs: config.childStartTimeoutMs,
      clockLib: config.childClockLib || undefined,
      // Subscribers each take a child connection, beside the node's own (a few, and peers').
      clientsMaxCount: config.clientsMaxCount + config.openFilesReservedCount,
    }, log);
    this.reads = new ReadBarrier(
      (requestId) => {
        // A lease is judged on the ticks that passed, also when the tick timer has not run yet.
        this.advanceRaftClock();
        this.raft?.readIndex(requestId);
        this.schedule();
      },
      (read, reply) =>
        this.childConn.send(
          this.readClock(read.commandBytes),
          read.replyCount,
          reply,
          read.slot.protocol,
          read.slot,
        ),
    );
  }

  /** Start the child, load identity and log, and start ticking. */
  async start(): Promise<void> {
    await makeDurableDir(this.config.dir);
    this.dirLock = await lockDataDir(this.config.dir);
    this.identity = (await loadIdentity(this.config.dir)) ?? null;
    if (this.identity) await this.snapshots.open();
    // After a restart the child starts from the snapshot; the log tail is replayed on top.
    const snapshot = this.identity ? this.snapshots.current() : undefined;
    await this.startChild(
      snapshot?.rdbPath,
      ChildConfig.startArgsOf(snapshot?.meta.extra.childConfig),
      snapshot ? snapshotEntryTimeMs(snapshot.meta.extra) : undefined,
    );
    if (!this.child.hasClock && this.config.childClockLib) {
      this.log.warning(
        `no clock library at ${this.config.childClockLib} (make builds it): each node decides key ` +
          "expiry at the moment it applies an entry, so nodes can disagree about volatile keys",
      );
    }
    const table = decodeReply(await this.childConn.request(encodeCommand(["COMMAND"])));
    this.commands = new CommandTable(table as unknown[]);
    this.sandbox = new ScriptSandbox(this.commands, this.config.scriptStepsMaxCount);
    if (this.identity) {
      this.state = "loading";
      await this.openRaft(this.identity, "restart");
      this.state = "up";
    }
    this.tickTimer = setInterval(() => this.tick(), this.config.tickIntervalMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tickTimer);
    this.writeBatcher.flush(); // gathered writes are answered with the others
    this.pendingWrites.failAll(Errors.writeOutcomeUnknownShutdown);
    this.reads.failAll(Errors.shuttingDown);
    this.peers?.close();
    this.leaderProxy.reset();
    this.childConn?.close();
    await this.child.stop();
    await this.storage?.close();
    await this.snapshots.close().catch(() => {});
    this.dirLock?.close(); // the next node on this directory may start
    this.dirLock = null;
  }

  /** (Re)start the redis child, empty or loading `rdbPath`, and connect once it has loaded. */
  private async startChild(
    rdbPath?: string,
    settings: string[] = [],
    clockStartMs?: number,
  ): Promise<void> {
    await this.child.start(rdbPath, settings, clockStartMs);
    // While loading, the child answers -LOADING: nothing may be applied before it is done.
    if (rdbPath) await waitChildLoaded(this.child.socketPath, this.config.snapshotTimeoutMs);
    await this.connectChild();
    this.watchChild();
  }

  /**
   * Opens the ordered connection entries are applied on. One that ends while the child runs (a
   * reply it could not read, a reset) is fatal, as the child's death is: the entries after it
   * would reach no child, and this node's data would fall behind the log unseen.
   */
  private async connectChild(): Promise<void> {
    const conn = await PipelinedConnection.connect(
      this.child.socketPath,
      this.config.replyMaxBytes,
    );
    this.childConn = conn;
    conn.ended.then(async (byOwner) => {
      if (byOwner || this.stopped) return;
      // The child's own death says more (watchChild): give its exit a moment to show.
      const exited = await Promise.race([
        this.child.exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), childExitGraceMs)),
      ]);
      if (exited || this.stopped || this.childConn !== conn) return;
      this.fatal("the connection to the redis child was lost; restart the node to rebuild it");
    });
  }

  // ---- NodeApi ----

  /** What peers present in RAFT.HELLO and RAFT.NODESHUTDOWN: the cluster password or else
   * the client password the node started with (a node that wants clients to authenticate wants
   * peers to as well). */
  get clusterPassword(): string {
    return this.config.clusterPassword || this.startRequirepass;
  }

  get entryMaxBytes(): number {
    return this.config.entryMaxBytes;
  }

  /** The clients' password now (`--requirepass`, or CONFIG SET since). */
  get requirepass(): string {
    return this.config.requirepass;
  }

  dataCommandRoute(kind: "read" | "write", session?: ClientSession): DataRoute {
    if (this.state !== "up") return this.dataCommandError();
    if (kind === "read" && this.readsLocally(session)) {
      // Any node serves stale reads, but not before it replayed what it had before a restart
      // and heard from a leader: a restarted node never serves state older than it had.
      return this.appliedIndex >= this.staleReadFloorIndex && this.leaderSeen
        ? null
        : Errors.noLeader;
    }
    if (this.role !== "leader" && this.config.followerProxy && this.leaderId !== 0) {
      const leader = this.membership.members.find((m) => m.id === this.leaderId);
      if (leader) return { proxyTo: leader.addr };
    }
    return this.dataCommandError();
  }

  /** Stale reads: every read with `--read-mode stale`, a READONLY connection's on a follower. */
  private readsLocally(session?: ClientSession): boolean {
    return this.config.readMode === "stale" ||
      (session?.state.replicaReads === true && this.role !== "leader");
  }

  watchIndex(session: ClientSession): number {
    return Math.max(this.appliedIndex, this.lastWriteIndexOf(sessionOrder(session)));
  }

  pubsub(
    session: ClientSession,
    commandBytes: Uint8Array,
    slot: ReplySlot,
    answer?: (reply: Uint8Array) => Uint8Array,
  ): void {
    if (!this.pubsubSessions.has(session)) {
      const error = this.dataCommandError();
      if (error) return slot.complete(encodeError(error));
    }
    this.pubsubSessions.send(session, commandBytes, slot, answer);
  }

  openInvalidations(sink: InvalidationSink): { close(): void } {
    return openChildInvalidations(this.child.socketPath, sink);
  }

  proxy(addr: string, commandBytes: CommandParts, slot: ReplySlot): void {
    this.leaderProxy.forward(addr, commandBytes, slot);
  }

  /** The error a command that needs the leader gets right now, or null if this is it. */
  dataCommandError(): string | null {
    switch (this.state) {
      case "uninitialized":
        return Errors.noCluster;
      case "joining":
        return Errors.joining;
      case "loading":
        return Errors.loading;
      case "removed":
        return Errors.removed;
    }
    if (this.role !== "leader") {
      const leader = this.membership.members.find((m) => m.id === this.leaderId);
      return leader ? `MOVED 0 ${leader.addr}` : Errors.noLeader;
    }
    if (!this.leaderReady) return Errors.noLeader;
    return null;
  }

  write(session: ClientSession, payload: Uint8Array, slot: ReplySlot): void {
    const order = sessionOrder(session);
    if (order.startNow("write")) this.proposeWrite(order, payload, slot);
    else order.write(() => this.proposeWrite(order, payload, slot));
  }

  private proposeWrite(order: SessionOrder, payload: Uint8Array, slot: ReplySlot): void {
    if (!this.raft) return slot.complete(encodeError(Errors.noCluster));
    if (this.config.writeBatchMaxBytes > 0 && isBatchablePayload(payload)) {
      this.writeBatcher.add({ order, payload, slot }); // may first propose what it held
      order.writeGathered = true;
      return;
    }
    this.proposeClientEntry(payload, slot, [order]);
  }

  /** What the batcher gathered: one write alone, or several as one Batch entry. */
  private proposeBatched(writes: BatchedWrite[]): void {
    const orders = writes.map((write) => write.order);
    for (const order of orders) order.writeGathered = false;
    if (writes.length === 1) {
      return this.proposeClientEntry(writes[0].payload, writes[0].slot, orders);
    }
    this.proposeClientEntry(
      encodeBatchPayload(writes.map((write) => write.payload)),
      new BatchSlot(writes.map((write) => write.slot)),
      orders,
    );
  }

  /** An entry whose `slot` answers its clients once applied; `orders` are their sessions. */
  private proposeClientEntry(payload: Uint8Array, slot: ReplySlot, orders: SessionOrder[]): void {
    if (!this.raft) return slot.complete(encodeError(Errors.noCluster));
    const stamped = stampPayload(payload, this.entryClock.next());
    // Peers refuse a larger entry: in the log, it would hold up every write after it.
    if (stamped.length > this.config.entryMaxBytes) {
      return slot.complete(encodeError(Errors.entryTooLarge));
    }
    // Its child would get the entry once committed; past the bound, memory would grow with every
    // write (the leader hands leadership over meanwhile, see maybeHandOffLeadership).
    if (this.childBacklog.behind()) return slot.complete(encodeError(Errors.childBehind));
    const position = this.propose(stamped);
    if (position instanceof RaftError) {
      return slot.complete(encodeError(this.proposalErrorReply(position)));
    }
    for (const order of orders) order.lastWriteIndex = position.index;
    this.pendingWrites.add(
      position.index,
      position.term,
      slot,
      performance.now() + this.config.requestTimeoutMs,
    );
    this.schedule();
  }

  /**
   * Every proposal goes through here: the writes gathered so far go first, so that the log
   * keeps the order in which things were proposed.
   */
  private propose(payload: Uint8Array): EntryPosition | RaftError {
    this.writeBatcher.flush();
    return this.raft!.propose(payload);
  }

  /**
   * The index of the session's last write, its gathered writes proposed first: what a read,
   * WAIT or WATCH takes from it must include every write the session sent before them.
   */
  private lastWriteIndexOf(order: SessionOrder): number {
    if (order.writeGathered) this.writeBatcher.flush();
    return order.lastWriteIndex;
  }

  read(
    session: ClientSession,
    commandBytes: CommandParts,
    replyCount: number,
    slot: ReplySlot,
  ): void {
    const order = sessionOrder(session);
    const local = this.readsLocally(session);
    if (order.startNow("read")) this.registerRead(order, commandBytes, replyCount, slot, local);
    else order.read(() => this.registerRead(order, commandBytes, replyCount, slot, local));
  }

  /**
   * WAIT numreplicas timeout (leader): in pipeline order, answered with how many other members
   * hold this connection's last write once `numReplicas` do, or at the deadline (a timeout of 0
   * waits up to the request timeout, never forever).
   */
  waitReplicas(session: ClientSession, numReplicas: number, timeoutMs: number, slot: ReplySlot) {
    const order = sessionOrder(session);
    const run = () => {
      const nowMs = performance.now();
      this.replicaWaits.add(
        {
          clientId: session.id,
          targetIndex: Math.max(this.lastWriteIndexOf(order), 1),
          numReplicas,
          deadlineMs: nowMs + (timeoutMs > 0 ? timeoutMs : this.config.requestTimeoutMs),
          answer: (count) => {
            slot.complete(encodeInteger(count));
            order.readDispatched();
          },
        },
        this.replicasHolding,
        nowMs,
      );
    };
    if (order.startNow("read")) run();
    else order.read(run);
  }

  /**
   * The clock a read runs on (sent now): on the leader, the latest time that expires nothing an
   * entry still to be applied would see alive (EntryClock.readTimeMs). The child's clock stays
   * held there, so its background expiry agrees with the log too. Elsewhere (stale reads) the
   * child's clock is the last applied entry's.
   */
  private readClock(commandBytes: CommandParts): CommandParts {
    if (!this.child.hasClock || this.role !== "leader" || !this.raft) return commandBytes;
    const timeMs = this.entryClock.readTimeMs(this.appliedIndex < this.raft.lastIndex);
    return atTimeParts(commandBytes, timeMs, this.childConn);
  }

  private registerRead(
    order: SessionOrder,
    commandBytes: CommandParts,
    replyCount: number,
    slot: ReplySlot,
    local: boolean,
  ): void {
    const read: PendingRead = {
      commandBytes,
      replyCount,
      slot,
      deadlineMs: performance.now() + this.config.requestTimeoutMs,
      minIndex: this.lastWriteIndexOf(order),
      dispatched: order.onReadDispatched,
    };
    if (local) this.reads.addLocal(read, this.appliedIndex);
    else this.reads.add(read, this.earlyReadIndex(), this.appliedIndex);
  }

  /**
   * The index a read arriving now must see to run before its round confirms: the commit index,
   * once this leader's current-term entry is applied (before that it may not know the true
   * commit index, so no read runs early).
   */
  private earlyReadIndex(): number {
    const raft = this.raft;
    return this.role === "leader" && this.leaderReady && raft ? raft.commitIndex : Infinity;
  }

  local(
    commandBytes: Uint8Array,
    onReply: (frame: Uint8Array) => void,
    protocol: RespProtocol,
    slot: ReplySlot,
  ): void {
    this.childConn.send(commandBytes, 1, onReply, protocol, slot);
  }

  admin(session: ClientSession, name: string, args: string[], slot: ReplySlot): void {
    handleAdminCommand(this, session, name, args, slot);
  }

  /** Send a command to the child and decode its reply (for INFO, CONFIG GET, ...). */
  async childRequest(args: string[]): Promise<unknown> {
    return decodeReply(await this.childConn.request(encodeCommand(args)));
  }

  /** Raw child reply for `args`; `waiter` is the client it is for (see answerOverdue). */
  childRequestRaw(args: string[], waiter?: Answerable): Promise<Uint8Array> {
    return this.childConn.request(encodeCommand(args), 1, 2, waiter);
  }

  /** Applied index and the child's state digest at exactly that index (`RAFT.DEBUG DIGEST`). */
  async stateDigest(): Promise<[number, string]> {
    for (let attempt = 0; attempt < digestIdleAttempts; attempt++) {
      await this.applyLoop.whenIdle();
      if (!this.applyLoop.isIdle) continue;
      const index = this.appliedIndex;
      const reply = await this.childConn.request(stateDigestCommands, stateDigestReplyCount);
      return [index, stateDigestOf(decodeReply(reply))];
    }
    throw new Error("the apply loop never went idle");
  }

  get pendingWriteCount(): number {
    return this.pendingWrites.size;
  }

  /**
   * Take a CONFIG SET: `next` is the whole config with the new values. The core validates the
   * ones it uses; on refusal nothing changes and the reason is returned.
   */
  applyRuntimeConfig(next: Config): string | null {
    // CONFIG SET knows quorum-reads as yes/no only; yes returns to the mode the core reads in.
    if (next.readMode !== "stale") next.readMode = this.quorumReadMode;
    const tunables = raftTunables(next);
    const refused = this.raft ? this.raft.tune(tunables)?.message : invalidTunables(tunables);
    if (refused) return refused;
    Object.assign(this.config, next);
    this.log.setLevel(this.config.logLevel);
    return null;
  }

  // ---- cluster lifecycle ----

  /** RAFT.CLUSTER INIT: a new one-member cluster with this node as leader. Returns the dbid. */
  async clusterInit(dbid: string | undefined): Promise<string> {
    const identity: NodeIdentity = {
      nodeId: this.config.nodeId || randomNodeId(),
      dbid: dbid ?? randomDbid(),
      addr: this.config.addr,
    };
    await this.becomeMember(identity, "bootstrap");
    return identity.dbid;
  }

  /** A completed RAFT.CLUSTER JOIN: start as a member with an empty log. */
  joinCluster(identity: NodeIdentity): Promise<void> {
    return this.becomeMember(identity, "join");
  }

  private async becomeMember(identity: NodeIdentity, mode: "bootstrap" | "join"): Promise<void> {
    const previous = this.state;
    this.state = "loading";
    try {
      await this.openRaft(identity, mode);
      await saveIdentity(this.config.dir, identity);
    } catch (error) {
      this.state = previous;
      throw error;
    }
    this.identity = identity;
    this.state = "up";
  }

  private async openRaft(identity: NodeIdentity, mode: "bootstrap" | "join" | "restart") {
    this.storage = await openLogStorage(
      this.config,
      mode !== "restart",
      // A follower has nothing to overlap with its fsync (its ack waits for it): the thread
      // pool's round trip would only add two wakeups per batch (measured: -20% follower CPU).
      // Unless its disk is slow: then its clients, heartbeats and read rounds would wait too;
      // and while it takes or installs a snapshot, whose megabytes its sync would wait behind.
      () =>
        this.role !== "leader" && !this.snapshots.inProgress &&
        !this.slowLogSync.recentlySlow(performance.now()),
    );
    const cut = this.storage.tailTruncation;
    if (cut) {
      this.log.warning(
        `log recovery cut ${cut.droppedBytes} bytes at offset ${cut.offset} of ${cut.path}: ${cut.reason}`,
      );
    }
    await this.snapshots.open(mode !== "restart");
    const snapshot = mode === "restart" ? this.snapshots.current() : undefined;
    const persisted = mode === "restart" ? await this.storage.load(snapshot?.meta) : undefined;
    // Stale reads wait until the node has applied what it may have applied before it stopped:
    // up to the end of its log (the commit index on disk is saved with a new term or vote only;
    // a node applies only entries its log has written). The floor drops where the leader
    // replaces the log's tail (never committed) or a snapshot replaces the log.
    this.staleReadFloorIndex = persisted
      ? Math.max(persisted.hardState.commit, this.storage.lastIndex)
      : 0;
    if (snapshot) {
      // The state is in the snapshot's metadata as well, but not the trailer's binary part.
      const { binary } = await readTrailer(snapshot.rdbPath);
      this.restoreSnapshotState(snapshot.meta.index, { extra: snapshot.meta.extra, binary });
    }
    const tunables = raftTunables(this.config);
    this.quorumReadMode = quorumReadModeOf(this.config.readMode);
    this.tickClock = new TickClock(
      this.config.tickIntervalMs,
      2 * tunables.electionTicks,
      performance.now(),
    );
    this.raft = new RaftNode({
      id: identity.nodeId,
      random: Math.random,
      ...tunables,
      leaseReads: this.config.readMode === "lease",
      maxReadRoundsInFlightCount: this.config.readRoundsInFlightMaxCount,
      commitOnlyAppendsOnTick: true,
      readRoundsToQuorumOnly: true,
    }, persisted);
    if (mode === "bootstrap") {
      const error = this.raft.bootstrap(identity.addr);
      if (error) throw error;
    }
    this.membership = this.raft.status().membership;
    this.currentTerm = this.raft.status().term;
    const config = this.config;
    this.peers = new PeerHub({
      selfId: identity.nodeId,
      selfAddr: identity.addr,
      password: this.clusterPassword,
      queueMaxBytes: config.peerQueueMaxBytes,
      get connectTimeoutMs() {
        return config.peerConnectTimeoutMs; // CONFIG SET raft.connection-timeout
      },
      get reconnectMinMs() {
        return config.peerReconnectMinMs; // CONFIG SET raft.reconnect-interval
      },
      reconnectMaxMs: config.peerReconnectMaxMs,
    });
    this.peers.updateMembership(this.membership);
    this.schedule();
  }

  isMember(nodeId: number): boolean {
    return this.membership.members.some((member) => member.id === nodeId);
  }

  /** A peer announced itself on an inbound connection (RAFT.HELLO). */
  peerHello(peerId: number, addr: string): void {
    this.peers?.learnAddr(peerId, addr);
    this.peers?.peerConnected(peerId);
  }

  /** A RAFT.MSG payload from a peer; malformed input throws (the caller replies an error). */
  peerMessage(bytes: Uint8Array): void {
    if (!this.raft || !this.identity) throw new Error("not a cluster member");
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(bytes, {
        // The protocol's bound, not --entry-max-bytes: entries proposed before a change of it
        // (or by a node configured otherwise) must still replicate.
        entryMaxBytes: this.config.protoMaxBulkLenBytes,
        entriesMaxCount: this.config.peerEntriesMaxCount,
        // Bounded by the RESP layer's bulk limit already: the sender's chunk size may differ.
        chunkMaxBytes: this.config.protoMaxBulkLenBytes,
      });
    } catch (error) {
      // Said here too: the sender only drops its link and tries again (limits that differ
      // between nodes show up this way).
      this.log.warning(`refused a peer message: ${(error as Error).message}`);
      throw error;
    }
    const { message, chunk } = decoded;
    if (message.to !== this.identity.nodeId) throw new Error("invalid or incorrect target node id");
    if (message.type === MessageType.AppendEntries) {
      this.counters.appendReqReceived++;
      if (message.entries.length > 0) this.counters.appendReqWithEntryReceived++;
      // Dropped, as a lost message: the leader sends them again once a heartbeat's answer shows
      // they did not arrive. Heartbeats still count, so no election starts over it.
      if (message.entries.length > 0 && this.childBacklog.followerRefuses()) return;
    }
    if (message.type === MessageType.InstallSnapshot) {
      this.counters.snapshotReqReceived++;
      const raft = this.raft;
      this.snapshots.receiveChunk(
        message,
        chunk ?? new Uint8Array(0),
        () => raft === this.raft && raft.isExpectedSnapshotChunk(message),
        () => {
          if (raft !== this.raft) return false;
          const expected = raft.isExpectedSnapshotChunk(message);
          raft.step(message);
          this.schedule();
          return expected;
        },
      );
      return;
    }
    this.raft.step(message);
    if (this.replicaWaits.size > 0) {
      this.replicaWaits.check(this.replicasHolding, performance.now());
    }
    this.schedule();
  }

  // ---- the Raft loop ----

  private tick(): void {
    // Deadlines are on the monotonic clock: a step of the wall clock (NTP, `date -s`) neither
    // holds requests past their timeout nor fails them early.
    const now = performance.now();
    this.pendingWrites.expire(now);
    this.reads.expire(now);
    this.expireBlockedClients(now);
    this.leaderProxy.checkTimeouts(now);
    // A child that does not answer (stopped, or busy with a long command) leaves no client
    // waiting past the request timeout; its late replies are dropped.
    this.childConn?.answerOverdue(now, this.config.requestTimeoutMs, requestTimeoutReply);
    this.pubsubSessions.expire(now, this.config.requestTimeoutMs, requestTimeoutReply);
    this.replicaWaits.check(this.replicasHolding, now);
    this.maybeProposeClockTick();
    if (!this.raft) return;
    this.dropSilentPeerLinks(now);
    this.maybeHandOffLeadership(this.raft, now);
    this.maybeSnapshot();
    this.advanceRaftClock();
    this.schedule();
  }

  /**
   * A peer that acknowledged nothing for the response timeout gets a new connection: after a
   * network fault the old one may wait minutes on TCP's retransmission backoff.
   */
  private dropSilentPeerLinks(nowMs: number): void {
    const timeoutMs = this.config.peerResponseTimeoutMs;
    for (const id of this.peers?.dropSilentLinks(nowMs, timeoutMs) ?? []) {
      this.log.verbose(`peer ${id} acknowledged nothing for ${timeoutMs} ms: reconnecting`);
    }
  }

  /**
   * A leader whose child cannot keep up hands leadership to the most up-to-date other node; one
   * whose link is slow (see SlowQuorumRounds) transfers it or steps down (leaveSlowLink).
   */
  private maybeHandOffLeadership(raft: RaftNode, nowMs: number): void {
    // The core's own role: the reported one lags while a Ready is out (a slow sync), and a core
    // that no longer leads has nothing to hand over.
    const childReason = this.childBacklog.handOffReason(nowMs, raft.isLeader);
    if (childReason) {
      this.handLeadershipOver(raft, childReason);
      return;
    }
    const roundAgeMs = raft.quorumRoundAgeTicks() * this.config.tickIntervalMs;
    const linkReason = this.slowQuorumRounds.check(roundAgeMs, nowMs, raft.isLeader);
    if (linkReason) this.leaveSlowLink(raft, linkReason, nowMs);
  }

  /**
   * A leader behind a slow link transfers leadership, or steps down (SlowQuorumRounds.exit): an
   * election would elect it again (its log is the longest), so it starts none for a while.
   */
  private leaveSlowLink(raft: RaftNode, reason: string, nowMs: number): void {
    const exit = this.slowQuorumRounds.exit(raft.voterHolding(raft.commitIndex), nowMs);
    if (exit.kind === "transfer") {
      this.handLeadershipOver(raft, reason, exit.targetId);
      return;
    }
    const holdMs = slowLinkCampaignHoldElectionTimeouts * this.config.electionTimeoutMs;
    const error = raft.stepDown(Math.ceil(holdMs / this.config.tickIntervalMs));
    // What this node queued as leader (heartbeats above all) would reach the others late, for
    // seconds, and keep them from electing one of themselves.
    if (!error) this.peers?.restartLinks();
    this.log.warning(
      reason +
        (error
          ? `; could not step down: ${error.message}`
          : `: ${exit.why}; stepping down, and starting no election for ${holdMs} ms`),
    );
  }

  /** Transfers leadership (to `targetId`, or the most up-to-date voter) and says why. */
  private handLeadershipOver(raft: RaftNode, reason: string, targetId?: NodeId): void {
    const error = raft.transferLeader(targetId);
    this.log.warning(
      reason + (error ? `; no other node to lead: ${error.message}` : ": handing leadership over"),
    );
  }

  /**
   * A leader with nothing to propose for --child-clock-tick-ms, whose dataset has keys with a
   * deadline, proposes its time alone: the children's clocks move only with the log (so replays
   * see the same times), and this keeps their expiry going when no write comes.
   */
  private maybeProposeClockTick(): void {
    if (this.role !== "leader" || !this.leaderReady || !this.raft || this.clockTickChecking) return;
    if (this.entryClock.idleMs() < this.config.childClockTickMs) return;
    const nowMs = Date.now();
    // Once per tick: with no key to expire, the check finds nothing and proposes nothing.
    if (nowMs - this.lastClockCheckMs < this.config.childClockTickMs) return;
    this.lastClockCheckMs = nowMs;
    const raft = this.raft;
    this.clockTickChecking = true;
    this.childRequest(["INFO", "keyspace"]).then((info) => {
      if (raft !== this.raft || this.role !== "leader") return;
      if (!/expires=[1-9]/.test(String(info))) return;
      const payload = encodePayload(PayloadKind.Clock, 0, new Uint8Array(0));
      if (!(this.propose(stampPayload(payload, this.entryClock.next())) instanceof RaftError)) {
        this.schedule();
      }
    }, () => {}).finally(() => this.clockTickChecking = false);
  }

  /** Give the core the ticks that really passed (all at once after a pause). */
  private advanceRaftClock(): void {
    const ticks = this.tickClock?.take(performance.now()) ?? 0;
    for (let i = 0; i < ticks && this.raft; i++) this.raft.tick();
  }

  /** Process Ready batches; proposals that arrive while one is persisting join the next. */
  schedule(): void {
    if (this.processing) {
      this.processAgain = true;
      // While a batch is being synced, entries that became committed meanwhile (follower acks)
      // are applied now instead of after that sync.
      if (this.readyCommittedPushed && this.raft) {
        const entries = this.raft.takeCommittedEntries();
        if (entries.length > 0) this.applyCommitted(entries);
      }
      // Heartbeats meanwhile go out now: a slow sync must not look like a dead leader. One that
      // lasts an election timeout is as good as dead: the heartbeats stop, the others elect.
      if (
        this.entriesSyncStartedMs !== undefined && this.raft &&
        performance.now() - this.entriesSyncStartedMs < this.config.electionTimeoutMs
      ) this.send(this.raft.takeLeaderMessages());
      return;
    }
    this.processing = true;
    this.processRun = new Promise<void>((resolve) =>
      queueMicrotask(() => this.process().finally(resolve))
    );
  }

  private async process(): Promise<void> {
    try {
      do {
        this.processAgain = false;
        while (this.raft && this.raft.hasReady() && !this.stopped && this.state !== "removed") {
          await this.handleReady(this.raft.ready());
        }
      } while (this.processAgain && !this.stopped);
    } catch (error) {
      // Stopping closes the log under a Ready still being handled: that one just ends.
      if (!this.stopped) this.fatal(`raft loop failed: ${(error as Error).stack ?? error}`);
    } finally {
      this.processing = false;
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    this.readyCommittedPushed = false;
    const raft = this.raft!;
    const storage = this.storage!;
    if (ready.softState) this.onSoftState(ready.softState.role, ready.softState.leaderId);
    if (ready.membership) {
      for (const member of this.membership.members) this.removedAddrs.set(member.id, member.addr);
      this.membership = ready.membership;
      this.peers?.updateMembership(ready.membership);
    }
    if (ready.snapshot) await this.snapshots.installReceived(ready.snapshot);
    if (ready.entries.length > 0) {
      const first = ready.entries[0].index;
      if (first <= storage.lastIndex) {
        this.staleReadFloorIndex = Math.min(this.staleReadFloorIndex, first - 1);
        this.pendingWrites.failFrom(first);
        await storage.truncateSuffix(first);
      }
      storage.append(ready.entries);
    }
    if (ready.hardState) {
      this.currentTerm = ready.hardState.term;
      await storage.saveHardState(ready.hardState);
    }
    // Committed entries are durable on a quorum already: apply them (and answer confirmed reads)
    // while this Ready's new entries are being synced, instead of after.
    const crashHere = this.config.crashAt === "apply-before-log-write" &&
      ready.committedEntries.some((entry) => !storage.hasWritten(entry));
    this.applyCommitted(ready.committedEntries);
    if (crashHere) {
      // Whatever was handed to the child reaches it before the crash (the child survives it).
      await this.applyLoop.whenIdle();
      await this.childConn.drained();
      this.crashPoint("apply-before-log-write");
    }
    this.readyCommittedPushed = true;
    for (const read of ready.readStates) {
      this.reads.confirm(read.requestId, read.index, this.appliedIndex);
    }
    // After the applies, so that waiting clients' commands reach the child first; before the
    // sync, so that peers (the leader's appends) work in parallel with this node's disk.
    this.send(ready.messages);
    for (const failed of ready.failedReads) {
      this.reads.fail(
        failed.requestId,
        failed.reason === "not-leader" ? this.notLeaderError() : Errors.readNoQuorum,
      );
    }
    if (ready.entries.length > 0) {
      const syncStartMs = performance.now();
      this.entriesSyncStartedMs = syncStartMs;
      try {
        await storage.sync();
      } finally {
        this.entriesSyncStartedMs = undefined;
      }
      this.checkLogSync(raft, performance.now() - syncStartMs, ready.entries.at(-1)!.index);
    }
    this.applyCommitted([]);
    this.send(ready.messagesAfterPersist);
    raft.advance(ready);
  }

  /**
   * After each log sync: a leader whose own syncs hold the cluster back hands leadership to a
   * faster voter; any node remembers a slow one (see SlowLogSync).
   */
  private checkLogSync(raft: RaftNode, syncMs: number, syncedIndex: number): void {
    const leading = this.role === "leader";
    const aheadVoterId = leading ? raft.voterHolding(syncedIndex) : 0;
    const reason = this.slowLogSync.record(syncMs, performance.now(), leading, aheadVoterId);
    if (reason) this.handLeadershipOver(raft, reason, aheadVoterId);
  }

  /**
   * Hands committed entries to the apply loop, except those this node's own log has not written
   * yet: they follow once written. A follower learns the commit of entries it has just received
   * (often in the same append) before its next Ready appends them, and a leader's write can wait
   * behind its log's previous operation. A node killed after serving an entry it never wrote
   * would restart without it and, with stale reads, could answer from older state than it had.
   */
  private applyCommitted(entries: readonly Entry[]): void {
    const held = this.committedUnwritten;
    // Entries that match at one index match at all before it (Raft's log matching), so the
    // last one tells for the whole batch.
    if (held.length === 0 && (entries.length === 0 || this.storage!.hasWritten(entries.at(-1)!))) {
      if (entries.length > 0) this.applyLoop.push(entries);
      return;
    }
    for (const entry of entries) held.push(entry);
    let ready = 0;
    while (ready < held.length && this.storage!.hasWritten(held[ready])) ready++;
    if (ready === 0) return;
    this.applyLoop.push(ready === held.length ? held : held.slice(0, ready));
    this.committedUnwritten = held.slice(ready);
  }

  private onSoftState(role: Role, leaderId: number): void {
    if (role !== this.role || leaderId !== this.leaderId) {
      this.log.notice(
        `role ${role}, leader ${leaderId || "unknown"}, term ${this.raft!.status().term}`,
      );
    }
    if (this.role === "leader" && role !== "leader") {
      this.reads.failAll(Errors.readNoQuorum);
      this.replicaWaits.answerAll();
      this.pubsubSessions.disconnectAll();
    }
    if (role !== "leader") this.leaderReady = false;
    if (role !== this.role) this.slowLogSync.reset();
    if (leaderId !== this.leaderId) this.leaderProxy.reset();
    if (leaderId !== 0) this.leaderSeen = true;
    this.role = role;
    this.leaderId = leaderId;
  }

  /**
   * A client proposal refused by the core never entered the log: answer with an error that
   * tells the client to retry (TRYAGAIN, MOVED, CLUSTERDOWN), never an ambiguous ERR.
   */
  private proposalErrorReply(error: RaftError): string {
    switch (error.code) {
      case "transfer-in-progress":
        return Errors.transferInProgress;
      case "uncommitted-limit":
        return Errors.uncommittedLimit;
      default:
        return this.dataCommandError() ?? Errors.noLeader;
    }
  }

  private notLeaderError(): string {
    return this.dataCommandError() ?? Errors.noLeader;
  }

  private send(messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type !== MessageType.InstallSnapshot) {
        this.peers?.send(message);
        continue;
      }
      // The core sends chunk positions; the bytes come from the published snapshot file.
      this.snapshots.readChunk(message).then((chunk) => {
        if (chunk) this.peers?.send(message, chunk);
      }, (error) => this.log.warning(`snapshot chunk for ${message.to}: ${error.message}`));
    }
  }

  /**
   * Take a snapshot when the entries since the last one outgrow --log-max-bytes (0: never), less
   * this cycle's share of --snapshot-spread-percent (see SnapshotTrigger). Not the log's size on
   * disk: a segment that holds the last snapshot's index stays until a later snapshot passes its
   * end, and with segments larger than the limit (set lower at run time) the size alone would
   * start a snapshot after every few entries.
   */
  private maybeSnapshot(): void {
    if (this.state !== "up" || !this.storage || this.snapshots.inProgress) return;
    const snapshotIndex = this.snapshots.current()?.meta.index ?? 0;
    const { logMaxBytes, snapshotSpreadPercent } = this.config;
    const sinceBytes = this.storage.bytesAfter(snapshotIndex);
    if (!this.snapshotTrigger.due(sinceBytes, logMaxBytes, snapshotSpreadPercent)) return;
    if (this.appliedIndex - snapshotIndex < this.config.snapshotMinEntries) return;
    this.snapshotTrigger.redraw();
    this.snapshots.take().catch((error) => {
      // Leaving the cluster (or stopping) drops the core, the log and the snapshot store under a
      // take in flight: whichever it reached first fails, which says nothing more.
      if (this.state !== "up" || this.stopped) {
        this.log.warning(
          `snapshot abandoned: the node is ${this.stopped ? "stopping" : this.state}`,
        );
        return this.log.verbose(`abandoned snapshot's error: ${error?.message ?? error}`);
      }
      this.fatal(`snapshot failed: ${error?.stack ?? error}`);
    });
  }

  /** RAFT.DEBUG COMPACT: a snapshot now. */
  compactNow(): Promise<void> {
    return this.snapshots.take();
  }

  private snapshotHost(): SnapshotHost {
    return {
      log: this.log,
      appliedIndex: () => this.appliedIndex,
      applyIdle: () => this.applyLoop.whenIdle(),
      coreAppliedIndex: () => this.raft?.status().appliedIndex ?? 0,
      bgsave: async () => {
        const { rdbPath } = await startRdbSnapshot(this.childConn, {
          socketPath: this.child.socketPath,
          rdbPath: this.child.rdbPath,
          bgsaveTimeoutMs: this.config.snapshotTimeoutMs,
        });
        this.lastSaveTimeSec = nowSec();
        return rdbPath;
      },
      captureState: () => {
        const watchHistory = encodeWatchHistory(this.watchHistory.capture());
        const extra = {
          scriptsBinary: this.scripts.toJSON(),
          blocked: this.blocked.toJSON(),
          childConfig: this.childConfig.toJSON(),
          entryTimeMs: this.entryClock.appliedTimeMs,
          watchHistory: watchHistory.header,
        };
        return { extra, binary: watchHistory.binary };
      },
      compact: (index, sizeBytes) => this.raft!.compact(index, sizeBytes),
      compactLog: (index) => this.storage!.compactPrefix(index),
      install: (path, meta, trailer) => this.installSnapshot(path, meta, trailer),
      crashPoint: (point) => this.crashPoint(point),
    };
  }

  private crashPoint(point: CrashPoint): void {
    if (this.config.crashAt !== point) return;
    this.log.warning(`test crash point ${point}: exiting abruptly`);
    Deno.exit(137);
  }

  /** A received snapshot replaces the child's dataset and the log. */
  private async installSnapshot(path: string, meta: SnapshotMeta, trailer: TrailerContent) {
    const extra = trailer.extra;
    await this.applyLoop.whenIdle();
    await this.childConn.drained();
    this.childConn.close();
    await installRdb({
      child: this.child,
      childRdbPath: this.child.rdbPath,
      snapshotRdbPath: path,
      loadTimeoutMs: this.config.snapshotTimeoutMs,
      settings: ChildConfig.startArgsOf(extra.childConfig),
      clockStartMs: snapshotEntryTimeMs(extra),
    });
    await this.connectChild();
    this.watchChild();
    this.crashPoint("install-after-child-restart");
    await this.storage!.reset(meta.index + 1);
    // Entries committed before the snapshot but still waiting for the log's write are in it.
    this.committedUnwritten = this.committedUnwritten.filter((entry) => entry.index > meta.index);
    this.staleReadFloorIndex = Math.min(this.staleReadFloorIndex, meta.index);
    this.crashPoint("install-after-log-reset");
    this.restoreSnapshotState(meta.index, trailer);
    this.reads.applied(this.appliedIndex);
    this.lastSaveTimeSec = nowSec();
  }

  /** Node-level replicated state as of a snapshot at `index`. */
  private restoreSnapshotState(index: number, { extra, binary }: TrailerContent): void {
    this.scripts.restore(snapshotScripts(extra));
    this.blocked.restore(
      (extra.blocked as Parameters<BlockedClients["restore"]>[0] | undefined) ?? [],
    );
    this.watchHistory.restore(index, extra.watchHistory as WatchHistoryState | undefined, binary);
    // The child already runs with these: start arguments, in force before it loaded the snapshot.
    this.childConfig.restore(extra.childConfig);
    this.entryClock.restore(snapshotEntryTimeMs(extra) ?? 0);
    this.appliedIndex = index;
  }

  /** The apply loop finished `entry`: its effects are in the child, in order. */
  private finishApply(entry: Entry): void {
    this.appliedIndex = entry.index;
    const timeMs = entry.type === EntryType.Normal ? payloadTimeMs(entry.data) : undefined;
    if (timeMs !== undefined) this.entryClock.applied(timeMs);
    if (entry.term === this.currentTerm && this.role === "leader" && !this.leaderReady) {
      this.leaderReady = true;
    }
    this.reads.applied(this.appliedIndex);
    this.applied.reached(entry.index, entry.term);
  }

  /** The child runs each entry at the entry's time (the clock library is loaded). */
  get childHasClock(): boolean {
    return this.child.hasClock;
  }

  /** Where INFO's tracking fields come from: the server's table, once one is attached. */
  private trackingStatsSource?: () => TrackingStats;

  useTrackingStats(stats: () => TrackingStats): void {
    this.trackingStatsSource = stats;
  }

  trackingStats(): TrackingStats {
    return this.trackingStatsSource?.() ?? { clients: 0, keys: 0, items: 0, prefixes: 0 };
  }

  /** Clients waiting in a blocking command or in WAIT here (INFO's blocked_clients, as Redis). */
  get blockedClientsCount(): number {
    return this.blocked.all().filter((w) => w.slot !== undefined).length + this.replicaWaits.size;
  }

  clientClosed(session: ClientSession): void {
    this.pubsubSessions.closeOf(session);
    this.replicaWaits.dropClient(session.id);
    // Its waiter leaves through the log before anything proposed after this moment, so a push
    // right after the disconnect is not handed to a client that is gone (as in Redis).
    if (this.isBlocked(session.id)) this.expireBlockedClients(performance.now());
  }

  isBlocked(clientId: number): boolean {
    return this.blocked.ofClient(clientId) !== undefined;
  }

  unblockClient(clientId: number, withError: boolean): boolean {
    if (this.role !== "leader" || !this.raft) return false;
    const waiter = this.blocked.ofClient(clientId);
    if (!waiter || waiter.timeoutProposed || !this.proposeWaitEnd(waiter, withError)) return false;
    this.schedule();
    return true;
  }

  /** Propose the entry that ends `waiter`'s wait on every node; false if the core refused it. */
  private proposeWaitEnd(waiter: Waiter, withError: boolean): boolean {
    const payload = encodePayload(
      PayloadKind.BlockedTimeout,
      1,
      encodeWaitEnd(waiter.id, withError),
    );
    if (this.propose(payload) instanceof RaftError) return false;
    waiter.timeoutProposed = true;
    return true;
  }

  /** Leader: end the waits of blocked clients past their timeout (or gone) through the log. */
  private expireBlockedClients(nowMs: number): void {
    if (this.role !== "leader" || !this.raft || this.blocked.size === 0) return;
    for (const waiter of this.blocked.all()) {
      if (waiter.timeoutProposed || !waiter.slot) continue;
      const gone = waiter.slot.queue.isClosed;
      if (!gone && (waiter.deadlineMs === undefined || waiter.deadlineMs > nowMs)) continue;
      this.proposeWaitEnd(waiter, false);
    }
    this.schedule();
  }

  /** A RemoveNode entry was applied: leave the cluster if it is us, else tell the node. */
  private onNodeRemoved(nodeId: number): void {
    if (nodeId === this.identity?.nodeId) {
      queueMicrotask(() => this.leaveCluster("removed from the cluster"));
      return;
    }
    if (this.role !== "leader") return;
    const addr = this.removedAddrs.get(nodeId);
    if (!addr || !this.identity) return;
    const args = ["RAFT.NODESHUTDOWN", String(nodeId), this.identity.dbid];
    if (this.clusterPassword) args.push(this.clusterPassword);
    adminRequest(addr, args, this.config.peerConnectTimeoutMs, this.config.requirepass).catch(
      () => {
        this.log.verbose(`could not tell removed node ${nodeId} at ${addr} to shut down`);
      },
    );
  }

  /** RAFT.NODESHUTDOWN from the leader: true if it named this node of this cluster. */
  nodeShutdownRequest(nodeId: number, dbid: string): boolean {
    if (!this.identity || nodeId !== this.identity.nodeId || dbid !== this.identity.dbid) {
      return false;
    }
    queueMicrotask(() => this.leaveCluster("the leader says this node was removed"));
    return true;
  }

  /**
   * Stop being a member: archive the Raft state under `removed-<id>-<time>/`, empty the child
   * and come back uninitialized (as RedisRaft does), so no data is served from here any more.
   */
  async leaveCluster(reason: string): Promise<void> {
    if (!this.identity || this.state === "removed") return;
    const identity = this.identity;
    this.state = "removed";
    this.log.warning(`*** NODE REMOVED (${reason}), leaving the cluster`);
    // A Ready being handled (a snapshot install, say) finishes before its files move away.
    await this.processRun;
    this.pendingWrites.failAll(Errors.writeOutcomeUnknownRemoved);
    this.reads.failAll(Errors.removed);
    this.applied.failAll();
    this.peers?.close();
    this.peers = null;
    this.raft = null;
    await this.storage?.close();
    this.storage = null;
    await this.snapshots.close();
    // Durable before the node serves as uninitialized: a power cut must not bring the member back.
    await archiveMemberFiles(this.config.dir, identity.nodeId);
    await this.childRequest(["FLUSHALL"]);
    this.identity = null;
    this.role = "(none)";
    this.leaderId = 0;
    this.membership = { members: [], usedNodeIds: [] };
    this.appliedIndex = 0;
    this.leaderReady = false;
    this.state = "uninitialized";
  }

  private watchChild(): void {
    this.child.exited.then((code) => {
      if (this.stopped || this.child.isStopping) return;
      this.fatal(
        `redis child exited unexpectedly (code ${code}); restart the node to rebuild it from the log`,
      );
    });
  }

  private fatal(message: string): void {
    this.log.warning(`FATAL: ${message}`);
    this.pendingWrites.failAll(Errors.writeOutcomeUnknownShutdown);
    this.reads.failAll(Errors.shuttingDown);
    this.stop().finally(() => Deno.exit(1));
  }
}

function sessionOrder(session: ClientSession): SessionOrder {
  return (session.state.order ??= new SessionOrder()) as SessionOrder;
}
