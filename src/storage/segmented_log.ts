/**
 * The file-backed {@link LogStore}: segment files under `<dir>/log/`, each named by the
 * index of its first record (`00000000000000000001.seg`) and holding records framed as
 * in `record_codec.ts`. A segment rolls over once the next record would take it past
 * `segmentMaxBytes`.
 *
 * Write path: `append` only updates memory; `sync` hands everything appended since the
 * last sync to the {@link FsyncBatcher}, which writes it with one write and one
 * fdatasync per segment touched (one, except at a rollover). A new segment file is
 * created only after the previous segment is synced, so a torn write can only ever be
 * in the last segment.
 *
 * Recovery (`open`): segments are scanned in order and every record is checked; a torn
 * tail of the last segment is cut (durably), anything else invalid is a
 * {@link LogCorruptionError} naming the file and byte offset. A `reset` in progress at
 * the crash (marker file `log/reset.json`) is completed.
 *
 * @module
 */

import { open as openFileHandle } from "node:fs/promises";
import { join } from "node:path";
import { assert, assertIndex } from "./assert.ts";
import { assertAppendable, assertTruncatable } from "./log_checks.ts";
import { AtomicFile, makeDurableDir, removeIfExists, syncDir } from "./atomic_file.ts";
import { decodeChecksummedJson, encodeChecksummedJson } from "./checksummed_json.ts";
import { FsyncBatcher } from "./fsync_batcher.ts";
import {
  decodeRecord,
  encodeRecord,
  encodeRecordHeader,
  RECORD_HEADER_BYTES,
  RECORD_MAX_BYTES_DEFAULT,
  recordBytes,
} from "./record_codec.ts";
import { parseSegmentFileName, SEGMENT_FILE_SUFFIX, SegmentIndex } from "./segment_index.ts";
import { LogCorruptionError, scanSegment } from "./segment_scan.ts";
import { SyncStatsRecorder } from "./sync_stats.ts";
import { TailCache } from "./tail_cache.ts";
import type { LogRecord, LogStore, SyncStats } from "./types.ts";
import { writeAllSync } from "../resp/write_all.ts";
import { WRITE_COPY_MAX_BYTES } from "../resp/bytes.ts";

export const SEGMENT_MAX_BYTES_DEFAULT = 64 * 1024 * 1024;
/**
 * Synced records kept in memory for reads. Small: the Raft core holds every entry since its last
 * snapshot, so a node reads its log only when it starts; a large cache only kept objects alive.
 */
export const TAIL_CACHE_MAX_BYTES_DEFAULT = 1024 * 1024;
export const LOG_DIR_NAME = "log";
const RESET_MARKER_FILE_NAME = "reset.json";
/** The reusable encode buffer is dropped after a batch larger than this. */
const ENCODE_BUFFER_KEEP_BYTES = 8 * 1024 * 1024;
/**
 * A blocking fdatasync holds the event loop for as long as the disk takes to write the flush:
 * cheap for the usual small batches, but for megabytes (a large entry, a follower catching up)
 * heartbeats, acks and clients would wait on it. Larger flushes sync on the thread pool.
 */
const blockingSyncMaxBytes = 1024 * 1024;

/** A record whose payload is written from its own buffer rather than copied (see #encode). */
function isLarge(record: LogRecord): boolean {
  return record.data.byteLength >= WRITE_COPY_MAX_BYTES;
}

export interface SegmentedLogOptions {
  /** The node's data directory; segments live in `<dir>/log/`. */
  readonly dir: string;
  /** Soft size of a segment; a single larger record gets a segment of its own. */
  readonly segmentMaxBytes?: number;
  /** Largest framed record accepted on append or believed on recovery. */
  readonly recordMaxBytes?: number;
  /** Payload bytes of recent durable records kept in memory for `read`. */
  readonly tailCacheMaxBytes?: number;
  /**
   * fdatasync every flush (default). Off (RedisRaft's `log-fsync no`), `sync()` only writes:
   * a crash of the process loses nothing, a crash of the machine may lose the latest records.
   */
  readonly fsync?: () => boolean;
  /**
   * fdatasync without yielding to the event loop, when true at the time of a flush (default: no)
   * and the flush wrote less than `blockingSyncMaxBytes`.
   */
  readonly blockingSync?: () => boolean;
  /**
   * Zeros written ahead of the records, this many bytes at a time (default 0: none). Records
   * then overwrite allocated space, and fdatasync has no file size to persist (measured:
   * 330 → 190 µs per write + fdatasync here). Recovery reads the zeros as free space.
   */
  readonly preallocateBytes?: number;
}

/** What recovery cut from the end of the log, if anything. */
export interface TailTruncation {
  readonly path: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

/** Disk-side state of one segment file, touched only by operations in the I/O queue. */
interface SegmentFile {
  readonly firstIndex: number;
  readonly path: string;
  /** Bytes written (and synced once the operation that wrote them completes). */
  bytes: number;
  /** Size of the file: `bytes` and preallocated zeros after them. */
  allocatedBytes: number;
  writer: Deno.FsFile | undefined;
  /** Where the writer's file position is, -1 when unknown. */
  writerPosition: number;
}

export class SegmentedLog implements LogStore {
  readonly logDir: string;
  readonly segmentMaxBytes: number;
  readonly recordMaxBytes: number;
  readonly tailCacheMaxBytes: number;
  /** Set by `open` when it cut a torn tail. */
  tailTruncation: TailTruncation | undefined;

  // Memory-side state: the log as the caller sees it, updated synchronously.
  #segments: SegmentIndex[] = [];
  #lastTerm = 0;
  #syncedIndex = 0;
  #writtenIndex = 0;
  #cache = new TailCache(1);
  /** Appended records not yet handed to a flush. */
  #pending: LogRecord[] = [];
  /** Bumped by every truncation, compaction and reset: in-flight reads revalidate. */
  #generation = 0;
  /** Highest index the running flush may still declare durable (lowered by truncation). */
  #flushDurableCap = Infinity;
  #state: "new" | "open" | "closed" = "new";

  // Disk-side state, owned by operations in the I/O queue.
  #files: SegmentFile[] = [];
  #encodeBuffer = new Uint8Array(0);
  readonly #batcher = new FsyncBatcher<LogRecord>((records) => this.#flush(records));
  readonly #blockingSync: () => boolean;
  readonly #preallocateBytes: number;
  #zeros = new Uint8Array(0);
  readonly #syncStats = new SyncStatsRecorder();

  readonly #fsync: () => boolean;

  constructor(options: SegmentedLogOptions) {
    this.logDir = join(options.dir, LOG_DIR_NAME);
    this.segmentMaxBytes = options.segmentMaxBytes ?? SEGMENT_MAX_BYTES_DEFAULT;
    this.recordMaxBytes = options.recordMaxBytes ?? RECORD_MAX_BYTES_DEFAULT;
    this.tailCacheMaxBytes = options.tailCacheMaxBytes ?? TAIL_CACHE_MAX_BYTES_DEFAULT;
    this.#fsync = options.fsync ?? (() => true);
    this.#blockingSync = options.blockingSync ?? (() => false);
    this.#preallocateBytes = options.preallocateBytes ?? 0;
    assert(this.segmentMaxBytes > RECORD_HEADER_BYTES, "segmentMaxBytes too small");
    assert(this.recordMaxBytes >= RECORD_HEADER_BYTES, "recordMaxBytes too small");
    assert(this.recordMaxBytes <= 0xffff_ffff, "recordMaxBytes must fit a u32 length");
  }

  get firstIndex(): number {
    return this.#segments[0].firstIndex;
  }

  get lastIndex(): number {
    return this.#segments[this.#segments.length - 1].lastIndex;
  }

  get syncedIndex(): number {
    return this.#syncedIndex;
  }

  get writtenIndex(): number {
    return this.#writtenIndex;
  }

  get sizeBytes(): number {
    return this.bytesAfter(0);
  }

  bytesAfter(index: number): number {
    let total = 0;
    for (const segment of this.#segments) {
      if (segment.count === 0 || segment.lastIndex <= index) continue;
      total += segment.sizeBytes - (segment.firstIndex > index ? 0 : segment.endOf(index));
    }
    return total;
  }

  get stats(): SyncStats {
    return this.#syncStats.stats;
  }

  /** Number of segments (files once synced), for tests and metrics. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  async open(): Promise<void> {
    assert(this.#state === "new", "open called twice");
    await makeDurableDir(this.logDir);
    const marker = new AtomicFile(join(this.logDir, RESET_MARKER_FILE_NAME));
    const markerBytes = await marker.read();
    if (markerBytes !== undefined) {
      const { nextIndex } = decodeChecksummedJson(markerBytes, `reset marker ${marker.path}`);
      assert(typeof nextIndex === "number", `reset marker ${marker.path}: bad nextIndex`);
      await this.#resetOnDisk(nextIndex, marker);
      this.#files = [];
    }
    await removeIfExists(marker.tmpPath);

    const firstIndexes: number[] = [];
    for await (const entry of Deno.readDir(this.logDir)) {
      if (!entry.name.endsWith(SEGMENT_FILE_SUFFIX)) continue;
      const firstIndex = parseSegmentFileName(entry.name);
      if (firstIndex === undefined || !entry.isFile) {
        throw new Error(`unexpected entry in log directory: ${join(this.logDir, entry.name)}`);
      }
      firstIndexes.push(firstIndex);
    }
    firstIndexes.sort((a, b) => a - b);

    let term = 0;
    for (let i = 0; i < firstIndexes.length; i++) {
      const segment = SegmentIndex.create(this.logDir, firstIndexes[i]);
      const isLast = i === firstIndexes.length - 1;
      if (i > 0) {
        const expected = this.lastIndex + 1;
        if (segment.firstIndex !== expected) {
          throw new LogCorruptionError(
            segment.path,
            0,
            `segment starts at index ${segment.firstIndex}, expected ${expected} (index gap)`,
          );
        }
      }
      const bytes = await Deno.readFile(segment.path);
      const scan = scanSegment(
        bytes,
        segment.path,
        segment.firstIndex,
        term,
        isLast,
        this.recordMaxBytes,
      );
      if (scan.offsets.length === 0 && !isLast) {
        throw new LogCorruptionError(segment.path, 0, "empty segment before the last one");
      }
      segment.offsets = scan.offsets;
      segment.terms = scan.terms;
      segment.sizeBytes = scan.validBytes;
      if (scan.terms.length > 0) term = scan.terms[scan.terms.length - 1];
      if (scan.validBytes < bytes.length && !scan.zeroTail) {
        await this.#truncateFile(segment.path, scan.validBytes);
        this.tailTruncation = {
          path: segment.path,
          offset: scan.validBytes,
          droppedBytes: bytes.length - scan.validBytes,
          reason: scan.tailReason ?? "invalid tail",
        };
      }
      this.#segments.push(segment);
      this.#files.push({
        firstIndex: segment.firstIndex,
        path: segment.path,
        bytes: scan.validBytes,
        allocatedBytes: scan.zeroTail ? bytes.length : scan.validBytes,
        writer: undefined,
        writerPosition: -1,
      });
    }
    if (this.#segments.length === 0) this.#segments.push(SegmentIndex.create(this.logDir, 1));
    this.#lastTerm = term;
    this.#syncedIndex = this.lastIndex;
    this.#writtenIndex = this.lastIndex;
    this.#cache.reset(this.lastIndex + 1);
    this.#state = "open";
  }

  append(records: readonly LogRecord[]): void {
    this.#assertUsable();
    const term = assertAppendable(records, this.lastIndex, this.#lastTerm, this.recordMaxBytes);
    for (const record of records) {
      let segment = this.#segments[this.#segments.length - 1];
      const bytes = recordBytes(record);
      if (segment.count > 0 && segment.sizeBytes + bytes > this.segmentMaxBytes) {
        segment = SegmentIndex.create(this.logDir, record.index);
        this.#segments.push(segment);
      }
      segment.push(segment.sizeBytes, record.term, bytes);
      this.#cache.push(record);
      this.#pending.push(record);
    }
    this.#lastTerm = term;
  }

  async sync(): Promise<void> {
    this.#assertUsable();
    if (this.#pending.length === 0) return await this.#batcher.barrier();
    const records = this.#pending;
    this.#pending = [];
    return await this.#batcher.submit(records);
  }

  async truncateSuffix(fromIndex: number): Promise<void> {
    this.#assertUsable();
    assertTruncatable(fromIndex, this.firstIndex, this.lastIndex);
    if (fromIndex === this.lastIndex + 1) return await this.#batcher.barrier();

    const position = this.#segmentPosition(fromIndex);
    const cut = this.#segments[position];
    // A segment cut at its first record goes away, unless it is the first one: its file
    // name is what records where the (now empty) log starts.
    const dropCutSegment = fromIndex === cut.firstIndex && position > 0;
    const cutOffset = cut.offsetOf(fromIndex);
    this.#segments.length = dropCutSegment ? position : position + 1;
    if (!dropCutSegment) cut.truncate(fromIndex);

    // The replacing entries may carry lower terms than the dropped ones (they come from
    // a leader that never saw them), so the term floor is what remains.
    this.#lastTerm = this.termAt(this.lastIndex) ?? 0;
    this.#dropUnwritten((record) => record.index < fromIndex);
    this.#flushDurableCap = Math.min(this.#flushDurableCap, fromIndex - 1);
    this.#syncedIndex = Math.min(this.#syncedIndex, fromIndex - 1);
    this.#writtenIndex = Math.min(this.#writtenIndex, fromIndex - 1);
    this.#cache.truncate(fromIndex);
    this.#generation++;

    return await this.#batcher.run(async () => {
      let removed = false;
      for (let i = this.#files.length - 1; i >= 0; i--) {
        const file = this.#files[i];
        const isDropped = file.firstIndex > cut.firstIndex ||
          (dropCutSegment && file.firstIndex === cut.firstIndex);
        if (isDropped) {
          // Highest first: a crash part-way leaves a contiguous log.
          await this.#removeFile(file);
          this.#files.splice(i, 1);
          removed = true;
        } else if (file.firstIndex === cut.firstIndex && file.bytes > cutOffset) {
          const writer = await this.#writerFor(file);
          await writer.truncate(cutOffset);
          await writer.sync();
          file.bytes = cutOffset;
          file.allocatedBytes = cutOffset;
          file.writerPosition = -1;
        }
      }
      if (removed) await syncDir(this.logDir);
    });
  }

  async compactPrefix(uptoIndex: number): Promise<void> {
    this.#assertUsable();
    assertIndex(uptoIndex, "uptoIndex");
    const durableUpto = Math.min(uptoIndex, this.#syncedIndex);
    let dropCount = 0;
    while (dropCount + 1 < this.#segments.length) {
      const segment = this.#segments[dropCount];
      const next = this.#segments[dropCount + 1];
      // The next segment must have a durable record, so its file exists and carries the
      // new start of the log if we crash right after.
      if (segment.lastIndex > durableUpto || next.firstIndex > this.#syncedIndex) break;
      dropCount++;
    }
    if (dropCount === 0) return await this.#batcher.barrier();
    const newFirstIndex = this.#segments[dropCount].firstIndex;
    this.#segments.splice(0, dropCount);
    this.#cache.dropBefore(newFirstIndex);
    this.#generation++;

    return await this.#batcher.run(async () => {
      // Lowest first: a crash part-way leaves a contiguous log.
      while (this.#files.length > 0 && this.#files[0].firstIndex < newFirstIndex) {
        await this.#removeFile(this.#files[0]);
        this.#files.shift();
      }
      await syncDir(this.logDir);
    });
  }

  async reset(nextIndex: number): Promise<void> {
    this.#assertUsable();
    assertIndex(nextIndex, "nextIndex");
    assert(nextIndex >= 1, "reset nextIndex must be >= 1");
    this.#segments = [SegmentIndex.create(this.logDir, nextIndex)];
    this.#lastTerm = 0;
    this.#dropUnwritten(() => false);
    this.#flushDurableCap = -Infinity;
    this.#syncedIndex = nextIndex - 1;
    this.#writtenIndex = nextIndex - 1;
    this.#cache.reset(nextIndex);
    this.#generation++;
    const marker = new AtomicFile(join(this.logDir, RESET_MARKER_FILE_NAME));
    return await this.#batcher.run(async () => {
      // The marker is the commit point: once written, recovery finishes the reset.
      await marker.write(encodeChecksummedJson({ nextIndex }));
      await this.#resetOnDisk(nextIndex, marker);
    });
  }

  termAt(index: number): number | undefined {
    if (this.#state !== "open" || index < this.firstIndex || index > this.lastIndex) {
      return undefined;
    }
    const segment = this.#segments[this.#segmentPosition(index)];
    return segment.terms[index - segment.firstIndex];
  }

  async read(fromIndex: number, toIndex: number, maxBytes = Infinity): Promise<LogRecord[]> {
    this.#assertUsable();
    for (let attempt = 0;; attempt++) {
      assert(attempt < 100, "read keeps racing with truncation");
      if (fromIndex < this.firstIndex || toIndex > this.lastIndex || fromIndex > toIndex) {
        throw new RangeError(
          `read(${fromIndex}, ${toIndex}) outside ${this.firstIndex}..${this.lastIndex}`,
        );
      }
      const generation = this.#generation;
      const records: LogRecord[] = [];
      let payloadBytes = 0;
      let index = fromIndex;
      let raced = false;
      while (index <= toIndex) {
        const cached = this.#cache.get(index);
        if (cached !== undefined) {
          if (records.length > 0 && payloadBytes + cached.data.byteLength > maxBytes) break;
          records.push(cached);
          payloadBytes += cached.data.byteLength;
          index++;
          continue;
        }
        const fromFile = await this.#readFromFile(
          index,
          toIndex,
          maxBytes - payloadBytes,
          records.length === 0,
          generation,
        );
        if (fromFile === undefined) {
          raced = true;
          break;
        }
        if (fromFile.length === 0) break;
        for (const record of fromFile) {
          records.push(record);
          payloadBytes += record.data.byteLength;
        }
        index += fromFile.length;
        if (payloadBytes >= maxBytes) break;
      }
      if (!raced && generation === this.#generation) return records;
    }
  }

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    // Records already handed to sync() still reach the disk: their callers were promised.
    this.#pending = [];
    await this.#batcher.run(() => Promise.resolve()).catch(() => {});
    for (const file of this.#files) {
      file.writer?.close();
      file.writer = undefined;
    }
  }

  // ---- memory-side helpers ----

  #assertUsable(): void {
    assert(this.#state === "open", `log is ${this.#state}`);
    const failure = this.#batcher.failure;
    if (failure !== undefined) throw failure;
  }

  /** Position in `#segments` of the segment holding `index` (which must be in the log). */
  #segmentPosition(index: number): number {
    let low = 0;
    let high = this.#segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.#segments[middle].firstIndex <= index) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Filters records that have not started being written (pending and queued flushes). */
  #dropUnwritten(keep: (record: LogRecord) => boolean): void {
    this.#pending = this.#pending.filter(keep);
    this.#batcher.filterQueued(keep);
  }

  /**
   * Reads records `fromIndex..` (up to `toIndex`, the cache boundary, the segment end
   * and `budgetBytes` of payload, but at least one record if `takeOne`) from their segment
   * file. Undefined when the log changed underneath (the caller retries).
   */
  async #readFromFile(
    fromIndex: number,
    toIndex: number,
    budgetBytes: number,
    takeOne: boolean,
    generation: number,
  ): Promise<LogRecord[] | undefined> {
    const segment = this.#segments[this.#segmentPosition(fromIndex)];
    const lastIndex = Math.min(toIndex, segment.lastIndex, this.#cache.firstIndex - 1);
    assert(lastIndex <= this.#syncedIndex, "uncached records must be durable");
    let endIndex = fromIndex;
    let payloadBytes = segment.endOf(fromIndex) - segment.offsetOf(fromIndex) - RECORD_HEADER_BYTES;
    while (endIndex < lastIndex) {
      const nextBytes = segment.endOf(endIndex + 1) - segment.offsetOf(endIndex + 1) -
        RECORD_HEADER_BYTES;
      if (payloadBytes + nextBytes > budgetBytes) break;
      payloadBytes += nextBytes;
      endIndex++;
    }
    if (payloadBytes > budgetBytes && !takeOne) return [];
    const start = segment.offsetOf(fromIndex);
    const length = segment.endOf(endIndex) - start;
    const bytes = new Uint8Array(length);
    let handle;
    try {
      handle = await openFileHandle(segment.path, "r");
    } catch (error) {
      if (generation !== this.#generation) return undefined;
      throw error;
    }
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (generation !== this.#generation) return undefined;
      if (done < length) {
        throw new LogCorruptionError(segment.path, start + done, "segment shorter than indexed");
      }
    } finally {
      await handle.close();
    }
    const records: LogRecord[] = [];
    let offset = 0;
    for (let index = fromIndex; index <= endIndex; index++) {
      const result = decodeRecord(bytes, offset, this.recordMaxBytes);
      if (result.kind !== "ok" || result.record.index !== index) {
        const reason = result.kind === "ok"
          ? `record index ${result.record.index}, expected ${index}`
          : result.reason;
        throw new LogCorruptionError(segment.path, start + offset, `on read: ${reason}`);
      }
      records.push(result.record);
      offset = result.end;
    }
    return records;
  }

  // ---- disk-side operations (run inside the I/O queue) ----

  async #flush(records: LogRecord[]): Promise<void> {
    this.#flushDurableCap = Infinity;
    if (records.length === 0) return;
    // Positions are taken now, before any await: a truncation arriving while this flush
    // runs changes the index, while the records of a started flush stay where they are.
    const groups: { segment: SegmentIndex; records: LogRecord[]; start: number; end: number }[] =
      [];
    for (const record of records) {
      const last = groups[groups.length - 1];
      if (last !== undefined && record.index <= last.segment.lastIndex) {
        last.records.push(record);
        last.end = last.segment.endOf(record.index);
      } else {
        const segment = this.#segments[this.#segmentPosition(record.index)];
        assert(segment.count > record.index - segment.firstIndex, "flushed record is in the log");
        groups.push({
          segment,
          records: [record],
          start: segment.offsetOf(record.index),
          end: segment.endOf(record.index),
        });
      }
    }
    for (const { segment, records, start, end } of groups) {
      const { file, created } = await this.#fileFor(segment);
      assert(file.bytes === start, `${file.path}: write at ${start}, file has ${file.bytes}`);
      const parts = this.#encode(records, end - start);
      const writer = await this.#writerFor(file);
      if (file.writerPosition !== start) await writer.seek(start, Deno.SeekMode.Start);
      // The write goes to the page cache without yielding; the fdatasync runs on the thread
      // pool, so the event loop serves clients and peers while the disk works (measured:
      // +10-15% pipelined writes on one node, shorter write latency on three, against a
      // blocking fdatasync; an async write as well only added a thread-pool round trip).
      for (const part of parts) writeAllSync(writer, part);
      this.#writtenIndex = Math.max(
        this.#writtenIndex,
        Math.min(records[records.length - 1].index, this.#flushDurableCap),
      );
      file.writerPosition = end;
      if (end > file.allocatedBytes) this.#preallocate(file, writer, end);
      if (this.#fsync()) {
        if (this.#blockingSync() && end - start < blockingSyncMaxBytes) {
          this.#syncStats.timeSync(() => writer.syncDataSync());
        } else await this.#syncStats.time(() => writer.syncData());
      }
      if (created) await syncDir(this.logDir);
      file.bytes = end;
    }
    const lastIndex = records[records.length - 1].index;
    this.#syncedIndex = Math.max(this.#syncedIndex, Math.min(lastIndex, this.#flushDurableCap));
    this.#cache.evict(this.tailCacheMaxBytes, this.#syncedIndex);
  }

  /**
   * The frames of `records` as the buffers to write in order: frames encoded into one buffer,
   * except the payloads of large records, which are written as they are (copying megabytes into
   * fresh memory stalls the node far longer than one more write call).
   */
  #encode(records: LogRecord[], totalBytes: number): Uint8Array[] {
    let encodedBytes = 0;
    for (const record of records) {
      encodedBytes += RECORD_HEADER_BYTES + (isLarge(record) ? 0 : record.data.byteLength);
    }
    if (
      this.#encodeBuffer.length < encodedBytes ||
      this.#encodeBuffer.length > ENCODE_BUFFER_KEEP_BYTES
    ) {
      this.#encodeBuffer = new Uint8Array(Math.max(encodedBytes, 64 * 1024));
    }
    const buffer = this.#encodeBuffer;
    const parts: Uint8Array[] = [];
    let partStart = 0;
    let offset = 0;
    for (const record of records) {
      if (!isLarge(record)) {
        offset = encodeRecord(buffer, offset, record);
        continue;
      }
      offset = encodeRecordHeader(buffer, offset, record);
      parts.push(buffer.subarray(partStart, offset), record.data);
      partStart = offset;
    }
    if (offset > partStart || parts.length === 0) parts.push(buffer.subarray(partStart, offset));
    let written = 0;
    for (const part of parts) written += part.length;
    assert(written === totalBytes, "encoded size matches the index");
    return parts;
  }

  async #fileFor(segment: SegmentIndex): Promise<{ file: SegmentFile; created: boolean }> {
    const last = this.#files[this.#files.length - 1];
    if (last !== undefined && last.firstIndex === segment.firstIndex) {
      return { file: last, created: false };
    }
    assert(
      last === undefined || last.firstIndex < segment.firstIndex,
      "segment files are created in index order",
    );
    const writer = await Deno.open(segment.path, { write: true, createNew: true });
    const file: SegmentFile = {
      firstIndex: segment.firstIndex,
      path: segment.path,
      bytes: 0,
      allocatedBytes: 0,
      writer,
      writerPosition: 0,
    };
    this.#files.push(file);
    return { file, created: true };
  }

  /** Zeros after `end` (the file's new end), persisted by the flush's fdatasync. */
  #preallocate(file: SegmentFile, writer: Deno.FsFile, end: number): void {
    file.allocatedBytes = end;
    if (this.#preallocateBytes === 0 || this.segmentMaxBytes <= end) return;
    const bytes = Math.min(this.#preallocateBytes, this.segmentMaxBytes - end);
    if (this.#zeros.length < bytes) this.#zeros = new Uint8Array(bytes);
    writeAllSync(writer, this.#zeros.subarray(0, bytes));
    file.allocatedBytes = end + bytes;
    file.writerPosition = end + bytes;
  }

  async #writerFor(file: SegmentFile): Promise<Deno.FsFile> {
    file.writer ??= await Deno.open(file.path, { write: true });
    return file.writer;
  }

  async #removeFile(file: SegmentFile): Promise<void> {
    file.writer?.close();
    file.writer = undefined;
    await removeIfExists(file.path);
  }

  async #truncateFile(path: string, bytes: number): Promise<void> {
    const file = await Deno.open(path, { write: true });
    try {
      await file.truncate(bytes);
      await file.sync();
    } finally {
      file.close();
    }
  }

  /** Removes every segment, creates an empty one named `nextIndex`, removes the marker. */
  async #resetOnDisk(nextIndex: number, marker: AtomicFile): Promise<void> {
    for (const file of this.#files) {
      file.writer?.close();
      file.writer = undefined;
    }
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.logDir)) {
      if (entry.name.endsWith(SEGMENT_FILE_SUFFIX)) names.push(entry.name);
    }
    for (const name of names) await Deno.remove(join(this.logDir, name));
    const segment = SegmentIndex.create(this.logDir, nextIndex);
    const created = await Deno.open(segment.path, { write: true, createNew: true });
    try {
      await created.sync();
    } finally {
      created.close();
    }
    this.#files = [{
      firstIndex: nextIndex,
      path: segment.path,
      bytes: 0,
      allocatedBytes: 0,
      writer: undefined,
      writerPosition: -1,
    }];
    await syncDir(this.logDir);
    await marker.remove();
  }
}
