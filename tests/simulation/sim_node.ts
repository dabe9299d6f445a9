/**
 * One simulated node: the real Raft core, a durable store that only changes when a
 * simulated fsync completes, a volatile state machine (the sequence of applied
 * write ids) and the caller side of the Ready/advance protocol.
 *
 * @module
 */

import {
  type Entry,
  EntryType,
  type HardState,
  type InstallSnapshotMessage,
  type Message,
  MessageType,
  type NodeId,
  RaftNode,
  type RaftNodeOptions,
  type Ready,
  type SnapshotMeta,
  type SoftState,
} from "../../src/raft/mod.ts";
import type { Envelope } from "./network.ts";

export interface Durable {
  hardState: HardState;
  snapshot?: { meta: SnapshotMeta; bytes: Uint8Array };
  entries: Entry[];
}

export interface SimNodeHooks {
  send(envelope: Envelope): void;
  onSoftState(node: SimNode, soft: SoftState, previousRole: SoftState["role"]): void;
  onCommitIndex(node: SimNode, commit: number): void;
  onApply(node: SimNode, entry: Entry): void;
  onSnapshotInstalled(node: SimNode, meta: SnapshotMeta, values: number[]): void;
  onReadDone(node: SimNode, requestId: number, index: number): void;
  onReadFailed(node: SimNode, requestId: number): void;
  /** After every step() and advance(): lets the simulation check the core's new state. */
  afterStep(node: SimNode): void;
}

export function encodeValue(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function decodeValue(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

function encodeState(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, values.length);
  for (let i = 0; i < values.length; i++) view.setUint32(4 + 4 * i, values[i]);
  return out;
}

function decodeState(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0);
  const values: number[] = new Array(n);
  for (let i = 0; i < n; i++) values[i] = view.getUint32(4 + 4 * i);
  return values;
}

interface SnapshotReceive {
  term: number;
  index: number;
  bytes: Uint8Array;
}

export class SimNode {
  raft: RaftNode | undefined;
  removed = false;
  readonly durable: Durable = { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
  values: number[] = [];
  appliedIndex = 0;
  role: SoftState["role"] = "follower";
  /** Highest commit index already reported to the checker. */
  checkedCommit = 0;
  /** Highest leader commit index already checked for durability on a quorum. */
  leaderCommitChecked = 0;
  /** Term in which `leaderCommitChecked` was last set. */
  leaderTermChecked = 0;
  /** Proposals made on this node: index -> [term, value]. */
  readonly proposals = new Map<number, { term: number; value: number }>();
  private pending: { ready: Ready; doneAt: number; appliedEarly: boolean } | undefined;
  private receive: SnapshotReceive | undefined;
  /**
   * The last chunk of `receive` was accepted: as the node does, further chunks (a newer
   * snapshot, a retransmission) are dropped unstepped until it is installed.
   */
  private sealed = false;
  private readsWaiting: { requestId: number; index: number }[] = [];

  constructor(
    readonly id: NodeId,
    readonly phaseUnits: number,
    private readonly options: RaftNodeOptions,
    private readonly hooks: SimNodeHooks,
    /**
     * Do as the node does while a Ready is being persisted: apply its committed entries at once
     * (before its fsync) and entries committed meanwhile as soon as they are
     * (takeCommittedEntries), and, leading, send heartbeats as they come (takeLeaderMessages).
     */
    private readonly likeRealNode = false,
  ) {
    this.raft = new RaftNode(options);
  }

  get up(): boolean {
    return this.raft !== undefined;
  }

  /** A Ready is being persisted (its fsync has not completed). */
  get fsyncPending(): boolean {
    return this.pending !== undefined;
  }

  crash(): void {
    this.raft = undefined;
    this.pending = undefined;
    this.receive = undefined;
    this.sealed = false;
    this.readsWaiting = [];
    this.proposals.clear();
    this.values = [];
    this.appliedIndex = 0;
    this.role = "follower";
  }

  restart(): void {
    const snap = this.durable.snapshot;
    this.raft = new RaftNode(this.options, {
      hardState: this.durable.hardState,
      snapshot: snap?.meta,
      entries: this.durable.entries,
    });
    this.values = snap ? decodeState(snap.bytes) : [];
    this.appliedIndex = snap?.meta.index ?? 0;
    this.checkedCommit = this.appliedIndex;
  }

  deliver(envelope: Envelope): void {
    const raft = this.raft;
    if (raft === undefined) return;
    const m = envelope.message;
    if (m.type === MessageType.InstallSnapshot) {
      if (this.sealed) return;
      this.receiveChunk(raft, m, envelope.payload!);
    }
    raft.step(m);
    if (this.pending?.appliedEarly) {
      for (const entry of raft.takeCommittedEntries()) this.apply(entry);
    }
    this.hooks.afterStep(this);
  }

  private receiveChunk(raft: RaftNode, m: InstallSnapshotMessage, payload: Uint8Array): void {
    if (!raft.isExpectedSnapshotChunk(m)) return;
    if (m.offsetBytes === 0) {
      this.receive = { term: m.term, index: m.meta.index, bytes: new Uint8Array(m.meta.sizeBytes) };
    }
    this.receive!.bytes.set(payload, m.offsetBytes);
    if (m.last) this.sealed = true;
  }

  /** Takes a Ready if none is being persisted; sends what needs no durability. */
  pump(now: number, fsyncDelayUnits: number): void {
    const raft = this.raft;
    if (raft === undefined || this.pending !== undefined || !raft.hasReady()) return;
    const ready = raft.ready();
    if (ready.softState !== undefined) {
      const previousRole = this.role;
      this.role = ready.softState.role;
      this.hooks.onSoftState(this, ready.softState, previousRole);
    }
    if (ready.hardState !== undefined && ready.hardState.commit > this.checkedCommit) {
      this.hooks.onCommitIndex(this, ready.hardState.commit);
      this.checkedCommit = ready.hardState.commit;
    }
    for (const m of ready.messages) this.sendMessage(m);
    const appliedEarly = this.likeRealNode && ready.snapshot === undefined;
    if (appliedEarly) { for (const entry of ready.committedEntries) this.apply(entry); }
    this.pending = { ready, doneAt: now + fsyncDelayUnits, appliedEarly };
  }

  /**
   * While a Ready is being persisted, a leader's heartbeats go out as the node sends them: once
   * that Ready's hard state is durable (the node saves it before the entries' sync; here it
   * becomes durable with them, so only a term already durable qualifies).
   */
  sendDuringFsync(): void {
    const raft = this.raft;
    const pending = this.pending;
    if (!this.likeRealNode || raft === undefined || pending === undefined) return;
    const hard = pending.ready.hardState;
    if (hard !== undefined && hard.term !== this.durable.hardState.term) return;
    for (const m of raft.takeLeaderMessages()) this.sendMessage(m);
  }

  /** Completes the pending fsync if due: durable store, then acks, apply, reads, advance. */
  complete(now: number): void {
    const raft = this.raft;
    const pending = this.pending;
    if (raft === undefined || pending === undefined || pending.doneAt > now) return;
    this.pending = undefined;
    const rd = pending.ready;
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      const entries = this.durable.entries;
      const first = rd.entries[0].index;
      const base = entries.length > 0 ? entries[0].index : first;
      if (first < base) throw new Error(`sim: ready entries start at ${first} before ${base}`);
      entries.length = Math.min(entries.length, first - base);
      if (entries.length > 0 && entries[entries.length - 1].index !== first - 1) {
        throw new Error(`sim: gap appending ${first} after ${entries[entries.length - 1].index}`);
      }
      for (const e of rd.entries) entries.push(e);
    }
    if (rd.hardState !== undefined) this.durable.hardState = rd.hardState;
    for (const m of rd.messagesAfterPersist) this.sendMessage(m);
    if (!pending.appliedEarly) { for (const entry of rd.committedEntries) this.apply(entry); }
    for (const r of rd.readStates) this.readsWaiting.push(r);
    for (const f of rd.failedReads) this.hooks.onReadFailed(this, f.requestId);
    if (this.readsWaiting.length > 0) {
      const still: { requestId: number; index: number }[] = [];
      for (const r of this.readsWaiting) {
        if (this.appliedIndex >= r.index) this.hooks.onReadDone(this, r.requestId, r.index);
        else still.push(r);
      }
      this.readsWaiting = still;
    }
    raft.advance(rd);
    this.hooks.afterStep(this);
  }

  private apply(entry: Entry): void {
    if (this.raft === undefined) return; // shut down by an earlier entry of the same batch
    if (entry.index <= this.appliedIndex) return; // superseded by an installed snapshot
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`sim: node ${this.id} applies ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    if (entry.type === EntryType.Normal) this.values.push(decodeValue(entry.data));
    this.hooks.onApply(this, entry);
  }

  private installSnapshot(meta: SnapshotMeta): void {
    const recv = this.receive;
    if (recv === undefined || recv.index !== meta.index) {
      throw new Error(`sim: node ${this.id} installs snapshot ${meta.index} it did not receive`);
    }
    this.receive = undefined;
    this.sealed = false;
    this.durable.snapshot = { meta, bytes: recv.bytes };
    this.durable.entries = [];
    this.values = decodeState(recv.bytes);
    this.appliedIndex = meta.index;
    this.hooks.onSnapshotInstalled(this, meta, this.values);
  }

  /** Snapshots the state machine at the applied index and compacts the log. */
  compact(): boolean {
    const raft = this.raft;
    if (raft === undefined || this.pending !== undefined) return false;
    const status = raft.status();
    if (status.appliedIndex <= status.snapshotIndex || status.appliedIndex < status.firstIndex) {
      return false;
    }
    const bytes = encodeState(this.values);
    const meta = raft.compact(this.appliedIndex, bytes.length);
    this.durable.snapshot = { meta, bytes };
    this.durable.entries = this.durable.entries.filter((e) => e.index > meta.index);
    return true;
  }

  private sendMessage(m: Message): void {
    if (m.type !== MessageType.InstallSnapshot) return this.hooks.send({ message: m });
    const snap = this.durable.snapshot;
    if (snap === undefined || snap.meta.index !== m.meta.index) return; // file replaced: drop
    this.hooks.send({
      message: m,
      payload: snap.bytes.subarray(m.offsetBytes, m.offsetBytes + m.lengthBytes),
    });
  }
}
