/**
 * The Raft node: the single entry point of the pure core. See `types.ts` for the
 * Ready/advance protocol the caller follows.
 *
 * @module
 */

import { type RaftConfig, resolveRaftConfig } from "./config.ts";
import type {
  EntryPosition,
  InstallSnapshotMessage,
  Message,
  NodeId,
  PersistedState,
  RaftError,
  RaftStatus,
  Ready,
  SnapshotMeta,
} from "./types.ts";

export type RaftNodeOptions = Partial<RaftConfig> & Pick<RaftConfig, "id" | "random">;

export class RaftNode {
  readonly config: RaftConfig;

  /**
   * A node with no persisted state waits for a leader to contact it (a joined node)
   * unless `bootstrap` is called. With `persisted`, it restarts from durable state.
   */
  constructor(options: RaftNodeOptions, persisted?: PersistedState) {
    this.config = resolveRaftConfig(options);
    void persisted;
  }

  get id(): NodeId {
    return this.config.id;
  }

  /** RAFT.CLUSTER INIT: AddVoter(self) at index 1, become leader of term 1, NoOp at index 2. */
  bootstrap(addr: string): RaftError | undefined {
    void addr;
    throw new Error("not implemented");
  }

  /** Advances logical time by one tick. */
  tick(): void {
    throw new Error("not implemented");
  }

  /** Handles a message from a peer. */
  step(message: Message): void {
    void message;
    throw new Error("not implemented");
  }

  /** Appends a Normal entry (leader only). */
  propose(data: Uint8Array): EntryPosition | RaftError {
    void data;
    throw new Error("not implemented");
  }

  /** Appends Normal entries at consecutive indexes; returns the position of the first. */
  proposeBatch(datas: readonly Uint8Array[]): EntryPosition | RaftError {
    void datas;
    throw new Error("not implemented");
  }

  /** Requests a linearizable read; the answer comes as a ReadState or FailedRead. */
  readIndex(requestId: number): void {
    void requestId;
    throw new Error("not implemented");
  }

  /** Transfers leadership to `nodeId` (or the most up-to-date voter). */
  transferLeader(nodeId?: NodeId): RaftError | undefined {
    void nodeId;
    throw new Error("not implemented");
  }

  /** Appends AddNonVoter(nodeId, addr); the leader promotes it once caught up. */
  addNode(nodeId: NodeId, addr: string): EntryPosition | RaftError {
    void nodeId, addr;
    throw new Error("not implemented");
  }

  /** Appends RemoveNode(nodeId). */
  removeNode(nodeId: NodeId): EntryPosition | RaftError {
    void nodeId;
    throw new Error("not implemented");
  }

  /** RAFT.TIMEOUT_NOW: campaign at once, skipping pre-vote and leader stickiness. */
  campaign(): RaftError | undefined {
    throw new Error("not implemented");
  }

  /**
   * The caller snapshotted its state machine at applied `index` (`sizeBytes` long).
   * Returns the metadata to store with it; the in-memory log drops entries <= index
   * (minus `compactionTrailingEntriesCount`).
   */
  compact(index: number, sizeBytes: number): SnapshotMeta {
    void index, sizeBytes;
    throw new Error("not implemented");
  }

  /** True when the transport should write this chunk's bytes (see types.ts). */
  isExpectedSnapshotChunk(message: InstallSnapshotMessage): boolean {
    void message;
    throw new Error("not implemented");
  }

  hasReady(): boolean {
    throw new Error("not implemented");
  }

  ready(): Ready {
    throw new Error("not implemented");
  }

  advance(ready: Ready): void {
    void ready;
    throw new Error("not implemented");
  }

  status(): RaftStatus {
    throw new Error("not implemented");
  }
}
