/**
 * @module
 * Deterministic WATCH. An EXEC entry carries the keys its client watched and the applied index
 * at which it watched them; when the entry is applied (on every node alike) it aborts if any
 * write applied after that index touched one of the keys. The recent applied writes are kept
 * here (references to the entries' payloads, bounded in count and bytes); keys are only
 * extracted when a watched EXEC is checked. When in doubt (history evicted, keys not knowable
 * from the command table, FLUSHALL) the EXEC aborts: a spurious abort is allowed, a missed one
 * is not. Key expiry is per node and does not abort a watched EXEC (documented).
 *
 * Every node must hold the same history at the same index, or a watch could abort on one node
 * and commit on another. A snapshot therefore carries the history (the writes' bytes, as binary
 * beside the snapshot's JSON state: up to --watch-history-max-bytes of them), and a node
 * restored from it continues exactly where the others are. Capturing it for a snapshot copies
 * references only; the bytes are written later, in slices, so the event loop never stops for it.
 */
import { RequestParser } from "../resp/mod.ts";
import { commandKeys, type CommandTable } from "../redis/command_table.ts";
import { keyString, lowerAscii } from "../resp/bytes.ts";
import { Buffer } from "node:buffer";

const touchesEverything = new Set(["flushall", "flushdb", "swapdb"]);

/** Stands in for an evicted write so the history stops holding its payload. */
const evicted = new Uint8Array(0);

/**
 * The history in a snapshot's JSON state: how many writes its binary part holds. That part is
 * each write's index (f64), then each write's size (u32), then the writes' bytes one after
 * another, all little-endian.
 */
export interface WatchHistoryHeader {
  evictedIndex: number;
  count: number;
}

/** What a snapshot's JSON state holds for the history, in this version's form or the earlier one. */
export type WatchHistoryState = WatchHistoryHeader | LegacyWatchHistoryState;

/** The form snapshots of earlier versions carry: everything in the JSON, bytes in base64. */
interface LegacyWatchHistoryState {
  evictedIndex: number;
  indexes: number[];
  sizes: number[];
  payloads: string;
}

/** The history at one moment, by reference (the writes' bytes are never changed). */
export interface WatchHistoryCapture {
  evictedIndex: number;
  indexes: number[];
  writes: Uint8Array[];
}

export interface WatchHistoryLimits {
  maxEntries: number;
  maxBytes: number;
}

export class WatchHistory {
  private indexes: number[] = [];
  private writes: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;
  /** Highest index ever dropped from the history; a watch older than it cannot be checked. */
  private evictedIndex = 0;

  constructor(
    private readonly limits: WatchHistoryLimits,
    private readonly commands: () => CommandTable,
  ) {}

  /** An applied normal entry (its RESP command bytes). */
  record(index: number, commandBytes: Uint8Array): void {
    this.indexes.push(index);
    this.writes.push(commandBytes);
    this.bytes += commandBytes.byteLength;
    this.evictBeyondLimits();
  }

  private evictBeyondLimits(): void {
    while (
      this.indexes.length - this.head > this.limits.maxEntries ||
      (this.bytes > this.limits.maxBytes && this.head < this.indexes.length)
    ) {
      this.evictedIndex = this.indexes[this.head];
      this.bytes -= this.writes[this.head].byteLength;
      this.writes[this.head++] = evicted;
    }
    if (this.head > 1024 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head);
      this.writes = this.writes.slice(this.head);
      this.head = 0;
    }
  }

  /** Forget everything (a snapshot without a history): watched EXECs from before it abort. */
  reset(index: number): void {
    this.indexes = [];
    this.writes = [];
    this.head = 0;
    this.bytes = 0;
    this.evictedIndex = index;
  }

  /** The history now, for a snapshot at the last recorded index: references only. */
  capture(): WatchHistoryCapture {
    return {
      evictedIndex: this.evictedIndex,
      indexes: this.indexes.slice(this.head),
      writes: this.writes.slice(this.head),
    };
  }

  /**
   * The history a snapshot at `index` carried: its header and binary part, a legacy JSON form,
   * or nothing (a snapshot from before histories were kept: reset, as snapshots before it had).
   */
  restore(
    index: number,
    state: WatchHistoryState | undefined,
    binary: Uint8Array = new Uint8Array(0),
  ): void {
    this.reset(index);
    if (!state) return;
    this.evictedIndex = state.evictedIndex;
    const writes = "payloads" in state ? legacyWrites(state) : decodeWrites(state.count, binary);
    for (const [writeIndex, bytes] of writes) {
      this.indexes.push(writeIndex);
      this.writes.push(bytes);
      this.bytes += bytes.byteLength;
    }
    this.evictBeyondLimits();
  }

  /** True if a write applied after `watchIndex` may have touched one of `keys`. */
  modifiedSince(watchIndex: number, keys: ReadonlySet<string>): boolean {
    if (watchIndex < this.evictedIndex) return true;
    for (let i = this.indexes.length - 1; i >= this.head && this.indexes[i] > watchIndex; i--) {
      if (this.touches(this.writes[i], keys)) return true;
    }
    return false;
  }

  /** Whether a write may have touched one of `keys`. */
  private touches(write: Uint8Array, keys: ReadonlySet<string>): boolean {
    const table = this.commands();
    const parser = new RequestParser();
    parser.push(write);
    for (let args = parser.next(); args !== null; args = parser.next()) {
      const name = lowerAscii(args[0]);
      if (name === "multi" || name === "exec") continue;
      if (touchesEverything.has(name)) return true;
      const info = table.lookup(name, args.length > 1 ? lowerAscii(args[1]) : undefined);
      if (!info) continue; // unknown commands fail in the child and change nothing
      if (!info.flags.has("write") && info.route !== "write") continue;
      const touched = commandKeys(info, args);
      if (touched === null) return true;
      for (const key of touched) if (keys.has(keyString(key))) return true;
    }
    return false;
  }
}

/**
 * A capture as a snapshot stores it: the header now, and the binary part as slices made while
 * they are written (the snapshot's synchronous step copies references only).
 */
export function encodeWatchHistory(
  capture: WatchHistoryCapture,
): { header: WatchHistoryHeader; binary: Iterable<Uint8Array> } {
  return {
    header: { evictedIndex: capture.evictedIndex, count: capture.indexes.length },
    binary: watchHistoryBinary(capture),
  };
}

function* watchHistoryBinary({ indexes, writes }: WatchHistoryCapture): Iterable<Uint8Array> {
  const count = indexes.length;
  const table = new DataView(new ArrayBuffer(count * 12));
  for (let i = 0; i < count; i++) {
    table.setFloat64(i * 8, indexes[i], true);
    table.setUint32(count * 8 + i * 4, writes[i].byteLength, true);
  }
  yield new Uint8Array(table.buffer);
  yield* writes;
}

function decodeWrites(count: number, binary: Uint8Array): [number, Uint8Array][] {
  if (!Number.isSafeInteger(count) || count < 0 || count * 12 > binary.length) {
    throw new Error(`watch history of ${count} writes does not fit ${binary.length} bytes`);
  }
  const table = new DataView(binary.buffer, binary.byteOffset, count * 12);
  const writes: [number, Uint8Array][] = [];
  let offset = count * 12;
  for (let i = 0; i < count; i++) {
    const size = table.getUint32(count * 8 + i * 4, true);
    if (offset + size > binary.length) throw new Error("watch history writes end early");
    writes.push([table.getFloat64(i * 8, true), binary.subarray(offset, offset + size)]);
    offset += size;
  }
  return writes;
}

function legacyWrites(state: LegacyWatchHistoryState): [number, Uint8Array][] {
  const decoded = Buffer.from(state.payloads, "base64");
  const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  let offset = 0;
  return state.indexes.map((writeIndex, i) => {
    const write = bytes.subarray(offset, offset + state.sizes[i]);
    offset += state.sizes[i];
    return [writeIndex, write];
  });
}
