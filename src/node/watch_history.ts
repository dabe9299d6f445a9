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
 * and commit on another. A snapshot therefore carries the history (the writes' bytes), and a
 * node restored from it continues exactly where the others are.
 */
import { RequestParser } from "../resp/mod.ts";
import { commandKeys, type CommandTable } from "../redis/command_table.ts";
import { concatBytes, keyString, lowerAscii } from "../resp/bytes.ts";
import { Buffer } from "node:buffer";

const touchesEverything = new Set(["flushall", "flushdb", "swapdb"]);

/** Stands in for an evicted write so the history stops holding its payload. */
const evicted = new Uint8Array(0);

/** The history as a snapshot carries it: each write's index and size, and their bytes. */
export interface WatchHistoryState {
  evictedIndex: number;
  indexes: number[];
  sizes: number[];
  /** Every write's command bytes, one after another, in base64. */
  payloads: string;
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

  /** The history now, for a snapshot at the last recorded index. */
  toJSON(): WatchHistoryState {
    const writes = this.writes.slice(this.head);
    return {
      evictedIndex: this.evictedIndex,
      indexes: this.indexes.slice(this.head),
      sizes: writes.map((write) => write.byteLength),
      payloads: base64Of(concatBytes(writes)),
    };
  }

  /** The history a snapshot at `index` carried (none: reset, as snapshots before it had). */
  restore(index: number, state: WatchHistoryState | undefined): void {
    this.reset(index);
    if (!state) return;
    this.evictedIndex = state.evictedIndex;
    const bytes = Buffer.from(state.payloads, "base64");
    let offset = 0;
    state.indexes.forEach((writeIndex, i) => {
      const size = state.sizes[i];
      this.indexes.push(writeIndex);
      this.writes.push(bytes.subarray(offset, offset + size));
      this.bytes += size;
      offset += size;
    });
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

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
