/**
 * @module
 * The node's durable Raft state: the segmented log and the hard state, seen through the
 * shapes the Raft core uses (entries, HardState, PersistedState). Hard state is written only
 * when term or vote change (the commit index is a hint: it is saved with them, never alone,
 * since a restarted node relearns it from the leader).
 */
import type { Config } from "../config/config_schema.ts";
import type { Entry, EntryType, HardState, PersistedState, SnapshotMeta } from "../raft/mod.ts";
import { FileHardStateStore, HARD_STATE_FILE_NAME } from "../storage/hard_state_store.ts";
import { LOG_DIR_NAME, SegmentedLog, type TailTruncation } from "../storage/segmented_log.ts";
import type { LogStore } from "../storage/types.ts";

export class LogStorage {
  private savedTerm = -1;
  private savedVote = -1;

  constructor(
    private readonly log: LogStore,
    private readonly hardStateStore: FileHardStateStore,
    /** What opening the log cut from its end (a write torn by a crash or a full disk). */
    readonly tailTruncation?: TailTruncation,
  ) {}

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  /**
   * The log has handed this very entry to the OS (not another one at its index, still to be
   * replaced), so a restart after a kill of this process finds it; an entry before the log's
   * start was compacted into a snapshot already.
   */
  hasWritten(entry: Entry): boolean {
    if (entry.index < this.log.firstIndex) return true;
    return entry.index <= this.log.writtenIndex && this.log.termAt(entry.index) === entry.term;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** Bytes of the entries after `index`: what a snapshot at `index` would leave. */
  bytesAfter(index: number): number {
    return this.log.bytesAfter(index);
  }
  get syncCount(): number {
    return this.log.stats.syncCount;
  }
  get syncMaxMicros(): number {
    return this.log.stats.syncMicrosecondsMax;
  }
  get syncAvgMicros(): number {
    return Math.round(this.log.stats.syncMicrosecondsAvg);
  }

  /**
   * Everything a restarting core needs: hard state, snapshot metadata and the log after it. A
   * log that does not continue the snapshot (it ends before it, or starts after it) is reset
   * to start right after the snapshot.
   */
  async load(snapshot?: SnapshotMeta): Promise<PersistedState> {
    const saved = await this.hardStateStore.load();
    if (
      snapshot && (this.log.firstIndex > snapshot.index + 1 || this.log.lastIndex < snapshot.index)
    ) {
      await this.log.reset(snapshot.index + 1);
    }
    const from = Math.max(this.log.firstIndex, (snapshot?.index ?? 0) + 1);
    const entries = this.log.lastIndex >= from
      ? (await this.log.read(from, this.log.lastIndex)) as Entry[]
      : [];
    const term = saved?.term ?? 0;
    this.savedTerm = term;
    this.savedVote = saved?.votedFor ?? 0;
    return {
      hardState: {
        term,
        vote: saved?.votedFor ?? 0,
        commit: Math.max(
          Math.min(saved?.commitIndex ?? 0, this.log.lastIndex),
          snapshot?.index ?? 0,
        ),
      },
      snapshot: snapshot
        ? {
          index: snapshot.index,
          term: snapshot.term,
          membership: snapshot.membership,
          sizeBytes: snapshot.sizeBytes,
        }
        : undefined,
      entries: entries.map((e) => ({ ...e, type: e.type as EntryType })),
    };
  }

  append(entries: readonly Entry[]): void {
    this.log.append(entries);
  }

  /** Drop whole segments of entries <= `index` (covered by a published snapshot). */
  compactPrefix(index: number): Promise<void> {
    return this.log.compactPrefix(index);
  }

  /** Restart the log empty at `nextIndex` (after installing a snapshot at nextIndex - 1). */
  reset(nextIndex: number): Promise<void> {
    return this.log.reset(nextIndex);
  }

  truncateSuffix(fromIndex: number): Promise<void> {
    return this.log.truncateSuffix(fromIndex);
  }

  async saveHardState(state: HardState): Promise<void> {
    if (state.term === this.savedTerm && state.vote === this.savedVote) return;
    await this.hardStateStore.save({
      term: state.term,
      votedFor: state.vote,
      commitIndex: state.commit,
    });
    this.savedTerm = state.term;
    this.savedVote = state.vote;
  }

  /** Make appended entries durable. */
  sync(): Promise<void> {
    return this.log.sync();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** Open (or, for a brand-new cluster member, create) the log under `<dir>/log`. */
export async function openLogStorage(
  config: Config,
  fresh: boolean,
  blockingSync: () => boolean,
): Promise<LogStorage> {
  const logDir = `${config.dir}/${LOG_DIR_NAME}`;
  if (fresh) {
    // Leftovers of an init or join that crashed before the identity was saved.
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
    await Deno.remove(`${config.dir}/${HARD_STATE_FILE_NAME}`).catch(() => {});
  }
  // Segments well below --log-max-bytes, so that compaction behind a snapshot frees space.
  const segmentMaxBytes = config.logMaxBytes === 0 ? config.logSegmentMaxBytes : Math.max(
    4096,
    Math.min(config.logSegmentMaxBytes, Math.floor(config.logMaxBytes / 4)),
  );
  const log = new SegmentedLog({
    dir: config.dir,
    segmentMaxBytes,
    fsync: () => config.logFsync,
    blockingSync,
    preallocateBytes: config.logPreallocateBytes,
  });
  await log.open();
  return new LogStorage(log, new FileHardStateStore(config.dir), log.tailTruncation);
}
