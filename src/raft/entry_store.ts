/**
 * Log entries held without one object per entry: terms, types and byte ranges in flat number
 * arrays, small payloads copied into shared chunks. A node holds every entry since its last
 * snapshot; as objects (an entry plus a byte view each) small writes cost about 300 bytes of
 * heap apiece and keep the garbage collector tracing millions of them. Entries are built on
 * demand as views into the chunks; chunk bytes are never rewritten, so a view handed out stays
 * valid after the entry is truncated or compacted away.
 *
 * The newest entries are also kept as the objects that were pushed (a ring of
 * `RECENT_ENTRIES_COUNT`), because they are read several times right after their append: to
 * persist, to replicate to each follower, and to apply.
 *
 * Positions are 0-based over the entries currently held.
 *
 * @module
 */

import type { Entry, EntryType } from "./types.ts";

/** Size of a shared chunk; payloads of a sixteenth of it or more are held as they are. */
export const ENTRY_CHUNK_BYTES = 1024 * 1024;
const OWN_CHUNK_MIN_BYTES = ENTRY_CHUNK_BYTES / 16;
/** Newest entries kept as objects, by index modulo this count. */
export const RECENT_ENTRIES_COUNT = 4096;
/**
 * Payload bytes the ring may keep alive. Compacted entries stay in it until overwritten, so
 * without a bound 4,096 large entries would outlive the log's own limit; an entry left out is
 * rebuilt as a view when read.
 */
export const RECENT_ENTRIES_MAX_BYTES = 8 * 1024 * 1024;

export class EntryStore {
  private terms: number[] = [];
  private types: number[] = [];
  private chunkIds: number[] = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  /** Position in the arrays of the first held entry (a dropped prefix is reclaimed lazily). */
  private head = 0;
  /** Chunks by id, in id order; one no held entry uses is released (not the one being filled). */
  private chunks = new Map<number, Uint8Array>();
  private nextChunkId = 0;
  private fillChunkId = -1;
  private fillChunk = new Uint8Array(0);
  private fillUsedBytes = 0;
  private recent: (Entry | undefined)[] = new Array(RECENT_ENTRIES_COUNT).fill(undefined);
  private recentBytes = 0;

  get length(): number {
    return this.terms.length - this.head;
  }

  /** Bytes of the chunks that hold the entries' payloads (what the held log costs in memory). */
  get heldBytes(): number {
    let bytes = 0;
    for (const chunk of this.chunks.values()) bytes += chunk.byteLength;
    return bytes;
  }

  push(entry: Entry): void {
    const bytes = entry.data.length;
    let chunkId: number;
    let offset: number;
    if (bytes >= OWN_CHUNK_MIN_BYTES) {
      // Entry bytes are never changed once made, so a large payload is held as it is, not copied.
      chunkId = this.nextChunkId++;
      this.chunks.set(chunkId, entry.data);
      offset = 0;
    } else {
      if (this.fillChunkId < 0 || this.fillUsedBytes + bytes > this.fillChunk.length) {
        this.fillChunkId = this.nextChunkId++;
        this.fillChunk = new Uint8Array(ENTRY_CHUNK_BYTES);
        this.fillUsedBytes = 0;
        this.chunks.set(this.fillChunkId, this.fillChunk);
      }
      chunkId = this.fillChunkId;
      offset = this.fillUsedBytes;
      this.fillChunk.set(entry.data, offset);
      this.fillUsedBytes += bytes;
    }
    this.terms.push(entry.term);
    this.types.push(entry.type);
    this.chunkIds.push(chunkId);
    this.offsets.push(offset);
    this.lengths.push(bytes);
    this.remember(entry);
  }

  /** Keeps `entry` in the ring if it is small and the ring is within its byte bound. */
  private remember(entry: Entry): void {
    const slot = entry.index % RECENT_ENTRIES_COUNT;
    const replaced = this.recent[slot];
    if (replaced !== undefined) this.recentBytes -= replaced.data.length;
    const bytes = entry.data.length;
    // A large payload is held as it is (its own chunk): a view of it costs no copy.
    if (bytes < OWN_CHUNK_MIN_BYTES && this.recentBytes + bytes <= RECENT_ENTRIES_MAX_BYTES) {
      this.recent[slot] = entry;
      this.recentBytes += bytes;
    } else {
      this.recent[slot] = undefined;
    }
  }

  private forgetRecent(): void {
    this.recent.fill(undefined);
    this.recentBytes = 0;
  }

  term(position: number): number {
    return this.terms[this.head + position];
  }

  dataBytes(position: number): number {
    return this.lengths[this.head + position];
  }

  /** The entry at `position`, whose log index is `index`. */
  get(position: number, index: number): Entry {
    const cached = this.recent[index % RECENT_ENTRIES_COUNT];
    if (cached !== undefined && cached.index === index) return cached;
    const at = this.head + position;
    const offset = this.offsets[at];
    const chunk = this.chunks.get(this.chunkIds[at])!;
    return {
      index,
      term: this.terms[at],
      type: this.types[at] as EntryType,
      data: chunk.subarray(offset, offset + this.lengths[at]),
    };
  }

  /** Keeps the first `count` entries. Their chunks' later bytes are left unused. */
  truncate(count: number): void {
    this.forgetRecent(); // the ring does not know which of its entries were cut
    const end = this.head + count;
    this.terms.length = end;
    this.types.length = end;
    this.chunkIds.length = end;
    this.offsets.length = end;
    this.lengths.length = end;
  }

  /** Drops the first `count` entries and releases chunks no held entry uses. */
  dropPrefix(count: number): void {
    if (count >= this.length) this.forgetRecent(); // nothing the ring holds is in the log now
    this.head += count;
    const firstUsed = this.head < this.terms.length ? this.chunkIds[this.head] : this.nextChunkId;
    for (const id of this.chunks.keys()) {
      if (id >= firstUsed) break;
      if (id !== this.fillChunkId) this.chunks.delete(id);
    }
    if (this.head > 4096 && this.head * 2 > this.terms.length) {
      this.terms = this.terms.slice(this.head);
      this.types = this.types.slice(this.head);
      this.chunkIds = this.chunkIds.slice(this.head);
      this.offsets = this.offsets.slice(this.head);
      this.lengths = this.lengths.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.forgetRecent(); // indexes start over after a snapshot, maybe with other entries
    this.dropPrefix(this.length);
  }
}
