/**
 * @module
 * What the client-facing server needs from the node: its state, the command table, and the
 * three paths a command can take (replicated write, read behind a barrier, local).
 */
import type { CommandParts } from "../redis/pipelined_connection.ts";
import type { CommandTable } from "../redis/command_table.ts";
import type { ClientSession } from "./client_session.ts";
import type { ReplySlot } from "./reply_queue.ts";
import type { ScriptRegistry } from "../node/script_registry.ts";
import type { ScriptSandbox } from "./script_sandbox.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import type { InvalidationSink, TrackingStats } from "./client_tracking.ts";

/** RedisRaft's raft_state values, plus `removed` for a node taken out of its cluster. */
export type NodeState = "uninitialized" | "joining" | "loading" | "up" | "removed";

export type DataRoute = null | string | { proxyTo: string };

export interface NodeApi {
  readonly state: NodeState;
  readonly commands: CommandTable;
  /** Scripts known to the cluster (for EVALSHA), and the sandbox that makes them deterministic. */
  readonly scripts: ScriptRegistry;
  readonly sandbox: ScriptSandbox;
  /** Propose an entry payload; the slot gets the child's reply once applied, or an error. */
  write(session: ClientSession, payload: Uint8Array, slot: ReplySlot): void;
  /** A read (per the read mode): the slot gets the child's reply after the barrier. */
  read(
    session: ClientSession,
    commandBytes: CommandParts,
    replyCount: number,
    slot: ReplySlot,
  ): void;
  /** WAIT: the slot gets how many other members hold this connection's last write. */
  waitReplicas(
    session: ClientSession,
    numReplicas: number,
    timeoutMs: number,
    slot: ReplySlot,
  ): void;
  /**
   * Send to the child now, with no barrier (PING-like and introspection commands), its reply in
   * RESP `protocol`; `slot` is the client's (answered with a timeout if the child is too slow).
   */
  local(
    commandBytes: Uint8Array,
    onReply: (frame: Uint8Array) => void,
    protocol: RespProtocol,
    slot: ReplySlot,
  ): void;
  /** RAFT.* commands and the commands RedisRaft intercepts (INFO raft, CONFIG raft.*, CLUSTER). */
  admin(session: ClientSession, name: string, args: string[], slot: ReplySlot): void;
  /** Where INFO finds the tracking counts (the server keeps the tracking table). */
  useTrackingStats(stats: () => TrackingStats): void;
  /** Largest log entry (--entry-max-bytes): bounds what a transaction may queue. */
  readonly entryMaxBytes: number;
  /** Password peers must give in RAFT.HELLO; empty for none. */
  readonly clusterPassword: string;
  /** Password clients must give with AUTH or HELLO; empty for none. */
  readonly requirepass: string;
  /** The child runs each entry at the entry's time (consumer group deliveries need it). */
  readonly childHasClock: boolean;
  /** Wall-clock second of this node's last snapshot, or of its start (LASTSAVE). */
  readonly lastSaveTimeSec: number;
  /** A peer announced its id and address on an inbound connection. */
  peerHello(peerId: number, addr: string): void;
  /** Whether `nodeId` is in the cluster's configuration as this node knows it. */
  isMember(nodeId: number): boolean;
  /** A peer's RAFT.MSG payload; throws on malformed input. */
  peerMessage(bytes: Uint8Array): void;
  /**
   * How a data command of `kind` is served right now: null = here, a string = that error
   * (not a member, not leader, ...), `{ proxyTo }` = forward it to the leader at that address.
   * A follower serves the reads of a `session` in READONLY mode from its own state.
   */
  dataCommandRoute(kind: "read" | "write", session?: ClientSession): DataRoute;
  /** The applied index a WATCH issued now on `session` watches from (after its own writes). */
  watchIndex(session: ClientSession): number;
  /**
   * A SUBSCRIBE-family command (or PING, HELLO while subscribed): pub/sub on the leader's child.
   * `answer` rewrites the child's reply, if given.
   */
  pubsub(
    session: ClientSession,
    commandBytes: Uint8Array,
    slot: ReplySlot,
    answer?: (reply: Uint8Array) => Uint8Array,
  ): void;
  /** CLIENT UNBLOCK: end the wait of a client blocked here; false if it is not blocked. */
  unblockClient(clientId: number, withError: boolean): boolean;
  /** True while the client waits in a blocking command here (CLIENT LIST's `b` flag). */
  isBlocked(clientId: number): boolean;
  /**
   * A client connection ended: its pub/sub connection to the child closes, and its blocked
   * command stops waiting now, not at the next tick.
   */
  clientClosed(session: ClientSession): void;
  /** The stream of keys this node's child changes (client-side caching). */
  openInvalidations(sink: InvalidationSink): { close(): void };
  /** Forward one encoded command to the leader (follower proxy). */
  proxy(addr: string, commandBytes: CommandParts, slot: ReplySlot): void;
}
