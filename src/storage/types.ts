/**
 * The seams of the storage layer (hashicorp/raft style): a log store, a hard-state
 * store and the records they hold. Each has a file-backed implementation and, for the
 * log, an in-memory one that passes the same conformance suite.
 *
 * @module
 */

/** One Raft log entry as stored. Structurally compatible with the raft core's `Entry`. */
export interface LogRecord {
  readonly index: number;
  readonly term: number;
  /** Raft entry type, 0..255. */
  readonly type: number;
  readonly data: Uint8Array;
}

/** fdatasync counters, reported by INFO raft (raft_fsync_*). */
export interface SyncStats {
  /** Number of fdatasync calls made for log appends. */
  readonly syncCount: number;
  readonly syncMicrosecondsMax: number;
  readonly syncMicrosecondsAvg: number;
}

/**
 * An append-only log of {@link LogRecord}s with contiguous indexes
 * `firstIndex..lastIndex`. An empty log has `lastIndex === firstIndex - 1`; a fresh
 * one starts at index 1.
 *
 * Visibility vs durability: `append` makes records visible at once (`lastIndex`,
 * `read`, `termAt`); they become durable at the next completed `sync()`
 * (`syncedIndex` follows). Every other mutating method is durable when its promise
 * resolves. Operations reach the disk in call order.
 *
 * After an I/O error the store is failed: every later call rejects with that error
 * (the caller should crash and recover from disk).
 */
export interface LogStore {
  /** Loads the log from its durable state. Must be called once, before anything else. */
  open(): Promise<void>;
  /** Index of the first record held (records before it were compacted or reset away). */
  readonly firstIndex: number;
  /** Index of the last record appended, durable or not; `firstIndex - 1` when empty. */
  readonly lastIndex: number;
  /** Highest index known durable; records in `(syncedIndex, lastIndex]` await a sync. */
  readonly syncedIndex: number;
  /**
   * Highest index handed to the operating system (`syncedIndex <= writtenIndex <= lastIndex`):
   * survives a crash of this process, not of the machine.
   */
  readonly writtenIndex: number;
  /** Bytes the log occupies (on disk once synced, framing included). */
  readonly sizeBytes: number;
  /** Bytes of the records after `index` (framing included): what a snapshot there leaves. */
  bytesAfter(index: number): number;
  readonly stats: SyncStats;
  /**
   * Buffers records for the next sync. Indexes must continue the log contiguously
   * (`records[0].index === lastIndex + 1`); terms must not decrease.
   */
  append(records: readonly LogRecord[]): void;
  /**
   * Resolves once every record appended before the call is durable. Callers that
   * arrive while a sync is in flight share the next one: one write + one fdatasync
   * for everything appended meanwhile.
   */
  sync(): Promise<void>;
  /**
   * Drops records with index >= `fromIndex` (`firstIndex <= fromIndex <= lastIndex + 1`).
   * Visible at once; durable when the promise resolves: after that (and so after any
   * later completed sync), the dropped records never reappear after a crash.
   */
  truncateSuffix(fromIndex: number): Promise<void>;
  /**
   * Releases storage for records with index <= `uptoIndex` that are durable, in whole
   * units (segments): afterwards `firstIndex <= uptoIndex + 1`; it may keep some. Never
   * changes `lastIndex`.
   */
  compactPrefix(uptoIndex: number): Promise<void>;
  /**
   * Drops every record and restarts the log empty at `nextIndex` (after installing a
   * snapshot whose last index is `nextIndex - 1`). Atomic across crashes.
   */
  reset(nextIndex: number): Promise<void>;
  /** Term of the record at `index`, or undefined outside `firstIndex..lastIndex`. */
  termAt(index: number): number | undefined;
  /**
   * Records `fromIndex..toIndex` (inclusive), stopping early once `maxBytes` of payload
   * is reached (at least one record is returned). Throws RangeError outside the log.
   */
  read(fromIndex: number, toIndex: number, maxBytes?: number): Promise<LogRecord[]>;
  /**
   * Waits for queued I/O (including syncs already requested) and releases file handles.
   * Appends no `sync()` asked for are discarded, as a crash would: call `sync()` first
   * for a clean shutdown.
   */
  close(): Promise<void>;
}

/** Raft's durable vote state. `votedFor` 0 means none (NodeId convention). */
export interface HardState {
  readonly term: number;
  readonly votedFor: number;
  readonly commitIndex: number;
}

export interface HardStateStore {
  /** The last saved state, or undefined if none was ever saved. Corruption throws. */
  load(): Promise<HardState | undefined>;
  /** Replaces the state atomically; durable when the promise resolves. */
  save(state: HardState): Promise<void>;
}

/** Who this node is; written once at cluster init/join (`identity.json`). */
export interface NodeIdentity {
  readonly nodeId: number;
  /** Cluster database id (RedisRaft dbid). */
  readonly dbid: string;
  readonly addr: string;
}
