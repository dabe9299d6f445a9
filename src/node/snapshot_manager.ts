/**
 * @module
 * Snapshots: taking one when the log outgrows `--log-max-bytes` (the child writes an RDB in
 * apply order, so it is exactly the state at the applied index), publishing it with its
 * metadata atomically, compacting the log behind it, streaming it to followers in chunks, and
 * installing a received one. Memory is bounded by a chunk on both sides, never by the size of
 * the snapshot.
 */
import type { InstallSnapshotMessage, SnapshotMeta } from "../raft/mod.ts";
import {
  type PublishedSnapshot,
  SnapshotStore,
  StaleSnapshotError,
} from "../storage/snapshot_store.ts";
import { appendTrailer, readTrailer, type TrailerContent } from "./snapshot_trailer.ts";
import type { Logger } from "./logger.ts";
import type { CrashPoint } from "../config/config_schema.ts";

/** What the manager needs from the node. */
export interface SnapshotHost {
  readonly log: Logger;
  /** Index of the last entry whose effects are in the child. */
  appliedIndex(): number;
  /** Resolves once no entry is waiting to be applied or being applied. */
  applyIdle(): Promise<void>;
  /**
   * The core's applied index (what `compact` accepts). It trails `appliedIndex()` while a Ready
   * whose committed entries are already applied is still syncing its new entries (before advance).
   */
  coreAppliedIndex(): number;
  /**
   * Send BGSAVE down the ordered apply connection now (synchronously, before any await) and
   * resolve with the finished RDB's path once the child wrote it.
   */
  bgsave(): Promise<string>;
  /**
   * Node-level replicated state to keep with a snapshot, captured now (cheaply: the binary part
   * by reference, written later).
   */
  captureState(): { extra: Record<string, unknown>; binary: Iterable<Uint8Array> };
  /** Compact the core at `index` (it returns the metadata) and the stored log behind it. */
  compact(index: number, sizeBytes: number): SnapshotMeta;
  compactLog(index: number): Promise<void>;
  /** Test only: die here as kill -9 would, if configured to. */
  crashPoint(point: CrashPoint): void;
  /** Replace the child's dataset with the RDB at `path`, restore its trailer, reset the log. */
  install(path: string, meta: SnapshotMeta, trailer: TrailerContent): Promise<void>;
}

/** A take waits up to tries × pause for the core's applied index to catch up with the child. */
const coreCatchUpTries = 100;
const coreCatchUpPauseMs = 5;

/** How long a fully received snapshot may wait for the core to hand it over for install. */
const sealedMaxMs = 30_000;

export interface SnapshotStats {
  created: number;
  received: number;
  /** performance.now() of the last snapshot taken here; 0: none yet. */
  lastTakenAtMs: number;
  inProgressIndex: number;
  inProgressTerm: number;
}

export class SnapshotManager {
  /** The store of the current membership; a node that leaves and joins again gets a new one. */
  store: SnapshotStore;
  readonly stats: SnapshotStats = {
    created: 0,
    received: 0,
    lastTakenAtMs: 0,
    inProgressIndex: -1,
    inProgressTerm: -1,
  };
  private taking: Promise<void> | null = null;
  /**
   * Bumped when a received snapshot is sealed (before the core sees its last chunk) and when its
   * install starts: a take begun before that is abandoned, since the core's log and the child's
   * dataset are being replaced under it (compacting at the old index would trip the core).
   */
  private installEpoch = 0;
  private installing = false;
  /** Incoming chunks are written one at a time, in arrival order. */
  private receiving: Promise<void> = Promise.resolve();
  /**
   * Index of a fully received snapshot the core is about to hand over for install: until it is
   * installed, further chunks (a retransmission from offset 0, or a newer snapshot) are dropped
   * so they cannot reset or replace the file; the leader sends them again.
   */
  private sealedIndex: number | null = null;
  private sealedAtMs = 0;

  constructor(
    private readonly nodeDir: string,
    private readonly receiveMaxBytes: number,
    private readonly host: SnapshotHost,
  ) {
    this.store = this.newStore();
  }

  private newStore(): SnapshotStore {
    return new SnapshotStore({
      nodeDir: this.nodeDir,
      snapshotReceiveMaxBytes: this.receiveMaxBytes,
    });
  }

  private opened = false;

  /** Open the store (once); `fresh` first drops any snapshot of an earlier membership. */
  async open(fresh = false): Promise<void> {
    if (this.opened) return;
    if (fresh) await Deno.remove(this.store.dir, { recursive: true }).catch(() => {});
    await this.store.open();
    this.opened = true;
  }

  current(): PublishedSnapshot | undefined {
    return this.opened ? this.store.current() : undefined;
  }

  get inProgress(): boolean {
    return this.taking !== null || this.installing;
  }

  /** Take a snapshot unless one is being taken; resolves when it is published. */
  take(): Promise<void> {
    // A received snapshot the core has accepted but the node has not installed yet: the core's
    // log starts after it, so compacting at the child's older applied index would fail (C11).
    if (this.installing || this.awaitingInstall()) return Promise.resolve();
    this.taking ??= this.takeNow().finally(() => {
      this.taking = null;
      this.stats.inProgressIndex = -1;
      this.stats.inProgressTerm = -1;
    });
    return this.taking;
  }

  private awaitingInstall(): boolean {
    return this.sealedIndex !== null && performance.now() - this.sealedAtMs < sealedMaxMs;
  }

  private async takeNow(): Promise<void> {
    const epoch = this.installEpoch;
    const previous = this.store.current()?.meta.index ?? 0;
    // Wait (bounded) until the child is not ahead of the core: compacting at an index the core
    // has not marked applied yet trips its invariant ("snapshot index N beyond applied").
    for (let tries = 0;; tries++) {
      await this.host.applyIdle();
      if (epoch !== this.installEpoch) return;
      if (this.host.appliedIndex() <= this.host.coreAppliedIndex()) break;
      if (tries >= coreCatchUpTries) return; // try again at a later tick
      await new Promise((resolve) => setTimeout(resolve, coreCatchUpPauseMs));
    }
    // Capture the index, the node-level state and fork the child in one synchronous step:
    // BGSAVE goes down the ordered apply connection after entry `index` and before the next.
    const index = this.host.appliedIndex();
    if (index <= previous) return;
    const { extra, binary } = this.host.captureState();
    const saved = this.host.bgsave();
    this.stats.inProgressIndex = index;
    let path: string;
    try {
      path = await saved;
    } catch (error) {
      if (epoch !== this.installEpoch) return;
      throw error;
    }
    this.host.crashPoint("snapshot-after-bgsave");
    const sizeBytes = await appendTrailer(path, extra, binary);
    if (epoch !== this.installEpoch) return; // a received snapshot supersedes this one
    const meta = this.host.compact(index, sizeBytes);
    this.stats.inProgressTerm = meta.term;
    await this.store.publish(path, { ...meta, extra }, "move");
    this.host.crashPoint("snapshot-after-publish");
    await this.host.compactLog(index);
    this.host.crashPoint("snapshot-after-compact");
    this.stats.created++;
    this.stats.lastTakenAtMs = performance.now();
    this.host.log.notice(
      `snapshot taken at index ${index} (term ${meta.term}, ${sizeBytes} bytes)`,
    );
  }

  /** Bytes of a snapshot chunk to send, or null if that snapshot is no longer published. */
  async readChunk(message: InstallSnapshotMessage): Promise<Uint8Array | null> {
    if (message.lengthBytes === 0) return new Uint8Array(0);
    try {
      return await this.store.readChunk(
        message.offsetBytes,
        message.lengthBytes,
        message.meta.index,
      );
    } catch (error) {
      if (error instanceof StaleSnapshotError) return null;
      throw error;
    }
  }

  /**
   * An incoming chunk: written to the receive file (in order) when the core expects it, then
   * handed to `step`, which says whether the core still expected it. Chunks are processed
   * strictly one after another.
   */
  receiveChunk(
    message: InstallSnapshotMessage,
    chunk: Uint8Array,
    expected: () => boolean,
    step: () => boolean,
  ): void {
    // No copy: a chunk is a big bulk, which the request parser hands out in a buffer of its own.
    const bytes = chunk;
    this.receiving = this.receiving.then(async () => {
      if (this.sealedIndex !== null) {
        // The core normally hands the sealed snapshot over at once; never wait forever.
        if (performance.now() - this.sealedAtMs < sealedMaxMs) return;
        this.host.log.warning(
          `received snapshot ${this.sealedIndex} was never installed; dropping it`,
        );
        this.sealedIndex = null;
      }
      if (expected()) {
        const receiver = await this.store.beginReceive({
          term: message.term,
          index: message.meta.index,
        });
        if (!await receiver.writeChunk(message.offsetBytes, bytes)) return;
        if (message.last) {
          this.installEpoch++;
          this.sealedIndex = message.meta.index;
          this.sealedAtMs = performance.now();
        }
      }
      // A last chunk the core no longer wanted (it caught up while the chunk was written)
      // leaves nothing to install: later chunks must not wait for an install.
      if (!step() && message.last && this.sealedIndex === message.meta.index) {
        this.sealedIndex = null;
      }
    }).catch((error) => this.host.log.warning(`snapshot chunk: ${(error as Error).message}`));
  }

  /** Ready.snapshot: publish the received file and install it. */
  async installReceived(meta: SnapshotMeta): Promise<void> {
    this.installing = true;
    this.installEpoch++;
    try {
      // A take in flight ends first (abandoned, or published if it compacted already): the
      // install restarts the child, which would fail its BGSAVE and kill the node.
      await this.taking?.catch(() => {});
      await this.installSealed(meta);
    } finally {
      this.sealedIndex = null;
      this.installing = false;
    }
  }

  private async installSealed(meta: SnapshotMeta): Promise<void> {
    await this.receiving;
    const receiver = this.store.activeReceiver;
    if (!receiver || receiver.key.index !== meta.index) {
      throw new Error(`no complete received snapshot for index ${meta.index}`);
    }
    const trailer = await readTrailer(receiver.path);
    const published = await receiver.complete({ ...meta, extra: trailer.extra });
    this.host.crashPoint("install-after-publish");
    await this.host.install(published.rdbPath, meta, trailer);
    this.stats.received++;
    this.host.log.notice(
      `snapshot received and installed at index ${meta.index} (term ${meta.term})`,
    );
  }

  /** Release the store; the next `open()` starts a new one (after leaving a cluster). */
  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.sealedIndex = null;
    await this.store.close();
    this.store = this.newStore();
  }
}
