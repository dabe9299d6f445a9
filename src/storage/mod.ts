/**
 * Durable storage for a redisraft node: the Raft log (segment files with batched
 * fdatasync), hard state and node identity (small atomically replaced files), and an
 * in-memory log for simulation.
 *
 * @module
 */

export type {
  HardState,
  HardStateStore,
  LogRecord,
  LogStore,
  NodeIdentity,
  SyncStats,
} from "./types.ts";
export {
  SEGMENT_MAX_BYTES_DEFAULT,
  SegmentedLog,
  TAIL_CACHE_MAX_BYTES_DEFAULT,
} from "./segmented_log.ts";
export type { SegmentedLogOptions, TailTruncation } from "./segmented_log.ts";
export { MemoryLogDisk, MemoryLogStore } from "./memory_log.ts";
export { LogCorruptionError } from "./segment_scan.ts";
export { RECORD_HEADER_BYTES, RECORD_MAX_BYTES_DEFAULT } from "./record_codec.ts";
export { FileHardStateStore, MemoryHardStateStore } from "./hard_state_store.ts";
export { loadIdentity, saveIdentity } from "./identity_store.ts";
export { AtomicFile, makeDurableDir, syncDir } from "./atomic_file.ts";
export { crc32c } from "./crc32c.ts";
