/**
 * The node's snapshot: at most one published RDB + metadata pair under
 * `<nodeDir>/snapshot/`, published atomically, plus the receiving side of a transfer.
 *
 * Layout:
 * ```
 * snapshot/snapshot.meta                 checksummed JSON: index, term, membership,
 *                                        sizeBytes, extra, rdbFileName, rdbCrc32c
 * snapshot/snapshot-<index>-<term>.rdb   the RDB that snapshot.meta names
 * snapshot/snapshot.meta.tmp             (transient) next metadata, before its rename
 * snapshot/snapshot-*.rdb                (transient) next RDB, before snapshot.meta names it
 * snapshot/receive-<term>-<index>.part   (transient) snapshot being received
 * ```
 *
 * The single commit point is the rename of `snapshot.meta.tmp` over `snapshot.meta`.
 * Publish: place the new RDB under its own name → fsync it and the directory → write and
 * fsync `snapshot.meta.tmp` → rename → fsync the directory → unlink the old RDB. Before
 * the rename the old metadata names the old RDB, which is untouched; after it the new
 * metadata names the new RDB, already durable. So a crash leaves the old pair or the new
 * pair, never a mix; every other file is garbage that `open()` removes.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertIndex } from "./assert.ts";
import { makeDurableDir, removeIfExists, syncDir } from "./atomic_file.ts";
import {
  digestFile,
  type FileDigest,
  placeFile,
  readExactlyAt,
  syncFile,
} from "./snapshot_file_io.ts";
import {
  decodeSnapshotMeta,
  encodeSnapshotMeta,
  isSnapshotRdbFileName,
  rdbFileNameFor,
  SnapshotCorruptionError,
  type SnapshotMetaInput,
  type StoredSnapshotMeta,
} from "./snapshot_meta.ts";
import {
  receiveFileNameFor,
  type SnapshotReceiveKey,
  SnapshotReceiver,
} from "./snapshot_receiver.ts";
import { writeAll } from "../resp/write_all.ts";

export const SNAPSHOT_DIR_NAME = "snapshot";
export const SNAPSHOT_META_FILE_NAME = "snapshot.meta";
export const SNAPSHOT_RECEIVE_MAX_BYTES_DEFAULT = 64 * 1024 ** 3;
export const SNAPSHOT_READ_CHUNK_MAX_BYTES_DEFAULT = 16 * 1024 ** 2;

/** Steps of a publish, in order; the crash hook is called after each. */
export type SnapshotPublishStep =
  | "rdb-placed"
  | "rdb-synced"
  | "meta-tmp-written"
  | "meta-renamed"
  | "meta-synced"
  | "old-rdb-removed";

export interface SnapshotStoreOptions {
  /** The node's directory; the store owns `<nodeDir>/snapshot/`. */
  readonly nodeDir: string;
  /** Largest snapshot accepted from a leader (disk used by a receive). */
  readonly snapshotReceiveMaxBytes?: number;
  /** Largest `readChunk` (memory per chunk sent). */
  readonly snapshotReadChunkMaxBytes?: number;
  /** Test only: called after each publish step; throwing simulates a crash there. */
  readonly crashHook?: (step: SnapshotPublishStep) => void;
}

/** The published snapshot. */
export interface PublishedSnapshot {
  readonly meta: StoredSnapshotMeta;
  readonly rdbPath: string;
}

/** `readChunk` asked for a snapshot that is no longer (or not yet) the published one. */
export class StaleSnapshotError extends Error {
  override readonly name = "StaleSnapshotError";
}

export class SnapshotStore {
  readonly dir: string;
  readonly #metaPath: string;
  readonly #receiveMaxBytes: number;
  readonly #readChunkMaxBytes: number;
  readonly #crashHook: (step: SnapshotPublishStep) => void;
  #current: PublishedSnapshot | undefined;
  #reader: Deno.FsFile | undefined;
  #receiver: SnapshotReceiver<PublishedSnapshot> | undefined;
  #opened = false;
  /** Set by a failed publish: the on-disk state is unknown until the next `open()`. */
  #failure: Error | undefined;
  /** Commits and chunk reads run one at a time (they share `#reader`). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SnapshotStoreOptions) {
    this.dir = join(options.nodeDir, SNAPSHOT_DIR_NAME);
    this.#metaPath = join(this.dir, SNAPSHOT_META_FILE_NAME);
    this.#receiveMaxBytes = options.snapshotReceiveMaxBytes ?? SNAPSHOT_RECEIVE_MAX_BYTES_DEFAULT;
    this.#readChunkMaxBytes = options.snapshotReadChunkMaxBytes ??
      SNAPSHOT_READ_CHUNK_MAX_BYTES_DEFAULT;
    this.#crashHook = options.crashHook ?? (() => {});
  }

  /**
   * Removes leftovers of interrupted publishes and receives, then loads and verifies the
   * published pair (metadata checksum, RDB size and CRC-32C). Corruption throws
   * {@link SnapshotCorruptionError}. Call once, before anything else.
   */
  async open(): Promise<void> {
    assert(!this.#opened, "snapshot store opened twice");
    this.#current = undefined;
    this.#failure = undefined;
    await makeDurableDir(this.dir);
    const meta = await this.#readMeta();
    await this.#removeGarbage(meta?.rdbFileName);
    if (meta !== undefined) {
      const rdbPath = join(this.dir, meta.rdbFileName);
      await verifyRdb(rdbPath, meta);
      this.#current = { meta, rdbPath };
      this.#reader = await Deno.open(rdbPath, { read: true });
    }
    this.#opened = true;
  }

  /** The published snapshot, if any. */
  current(): PublishedSnapshot | undefined {
    this.#assertUsable();
    return this.#current;
  }

  /**
   * Publishes `rdbSourcePath` with `meta`, replacing the current snapshot atomically;
   * durable when the promise resolves. `mode` "move" (default) takes the file away from
   * its source. `meta.sizeBytes` must be the file's size and `meta.index` must be beyond
   * the current snapshot's.
   */
  async publish(
    rdbSourcePath: string,
    meta: SnapshotMetaInput,
    mode: "move" | "copy" = "move",
  ): Promise<PublishedSnapshot> {
    this.#assertUsable();
    const digest = await digestFile(rdbSourcePath);
    return await this.#publish(rdbSourcePath, meta, digest, mode);
  }

  /**
   * Starts receiving the snapshot `key`, or returns the receive in progress for the same
   * key. A receive for another key is aborted first (its file removed).
   */
  async beginReceive(key: SnapshotReceiveKey): Promise<SnapshotReceiver<PublishedSnapshot>> {
    this.#assertUsable();
    const active = this.#receiver;
    if (active?.isOpen && active.key.term === key.term && active.key.index === key.index) {
      return active;
    }
    await active?.abort();
    this.#receiver = await SnapshotReceiver.create(
      key,
      join(this.dir, receiveFileNameFor(key)),
      this.#receiveMaxBytes,
      (path, meta, digest) => this.#publish(path, meta, digest, "move"),
    );
    return this.#receiver;
  }

  /** The receive in progress, if any. */
  get activeReceiver(): SnapshotReceiver<PublishedSnapshot> | undefined {
    return this.#receiver?.isOpen ? this.#receiver : undefined;
  }

  /**
   * `lengthBytes` bytes at `offsetBytes` of the published RDB (fewer at its end; at
   * most `snapshotReadChunkMaxBytes`). With
   * `snapshotIndex`, throws {@link StaleSnapshotError} unless that snapshot is the
   * published one, so a sender never mixes bytes of two snapshots.
   */
  async readChunk(
    offsetBytes: number,
    lengthBytes: number,
    snapshotIndex?: number,
  ): Promise<Uint8Array> {
    this.#assertUsable();
    assertIndex(offsetBytes, "chunk offset");
    assert(
      Number.isSafeInteger(lengthBytes) && lengthBytes >= 0 &&
        lengthBytes <= this.#readChunkMaxBytes,
      `chunk length ${lengthBytes} outside 0..${this.#readChunkMaxBytes}`,
    );
    return await this.#serial(async () => {
      const current = this.#current;
      if (current === undefined || (snapshotIndex ?? current.meta.index) !== current.meta.index) {
        throw new StaleSnapshotError(
          `snapshot ${snapshotIndex} is not published (current: ${current?.meta.index})`,
        );
      }
      const size = current.meta.sizeBytes;
      assert(offsetBytes <= size, `chunk offset ${offsetBytes} beyond snapshot size ${size}`);
      return await readExactlyAt(
        this.#reader!,
        offsetBytes,
        Math.min(lengthBytes, size - offsetBytes),
      );
    });
  }

  /** Aborts a receive in progress and releases file handles; the store is unusable after. */
  async close(): Promise<void> {
    await this.#receiver?.abort();
    await this.#serial(() => {
      this.#reader?.close();
      this.#reader = undefined;
      this.#opened = false;
      return Promise.resolve();
    });
  }

  async #publish(
    sourcePath: string,
    input: SnapshotMetaInput,
    digest: FileDigest,
    mode: "move" | "copy",
  ): Promise<PublishedSnapshot> {
    assert(
      input.sizeBytes === digest.sizeBytes,
      `snapshot meta says ${input.sizeBytes} bytes, the RDB has ${digest.sizeBytes}`,
    );
    const rdbFileName = rdbFileNameFor(input.index, input.term);
    const meta: StoredSnapshotMeta = {
      index: input.index,
      term: input.term,
      membership: input.membership,
      sizeBytes: input.sizeBytes,
      extra: input.extra ?? {},
      rdbFileName,
      rdbCrc32c: digest.crc32c,
    };
    const encoded = encodeSnapshotMeta(meta);
    return await this.#serial(async () => {
      this.#assertUsable();
      const previous = this.#current;
      assert(
        previous === undefined || meta.index > previous.meta.index,
        `snapshot index ${meta.index} not beyond the published ${previous?.meta.index}`,
      );
      const rdbPath = join(this.dir, rdbFileName);
      try {
        await placeFile(sourcePath, rdbPath, mode);
        this.#crashHook("rdb-placed");
        await syncFile(rdbPath);
        await syncDir(this.dir);
        this.#crashHook("rdb-synced");
        await writeSynced(`${this.#metaPath}.tmp`, encoded);
        this.#crashHook("meta-tmp-written");
        await Deno.rename(`${this.#metaPath}.tmp`, this.#metaPath);
        this.#crashHook("meta-renamed");
        await syncDir(this.dir);
        this.#crashHook("meta-synced");
        const reader = await Deno.open(rdbPath, { read: true });
        this.#reader?.close();
        this.#reader = reader;
        this.#current = { meta, rdbPath };
        if (previous !== undefined) await Deno.remove(previous.rdbPath);
        this.#crashHook("old-rdb-removed");
      } catch (error) {
        this.#failure = error as Error;
        throw error;
      }
      return this.#current;
    });
  }

  async #readMeta(): Promise<StoredSnapshotMeta | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#metaPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    return decodeSnapshotMeta(bytes, `snapshot metadata ${this.#metaPath}`);
  }

  /** Unlinks every file of ours that the published metadata does not name. */
  async #removeGarbage(keepRdbFileName: string | undefined): Promise<void> {
    let removed = false;
    for await (const entry of Deno.readDir(this.dir)) {
      const name = entry.name;
      const ours = name === `${SNAPSHOT_META_FILE_NAME}.tmp` || name.endsWith(".part") ||
        isSnapshotRdbFileName(name);
      if (!ours || name === keepRdbFileName) continue;
      await removeIfExists(join(this.dir, name));
      removed = true;
    }
    if (removed) await syncDir(this.dir);
  }

  #assertUsable(): void {
    assert(this.#opened, "snapshot store is not open");
    if (this.#failure !== undefined) {
      throw new Error(`snapshot store failed earlier: ${this.#failure.message}`);
    }
  }

  #serial<R>(operation: () => Promise<R>): Promise<R> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }
}

async function verifyRdb(rdbPath: string, meta: StoredSnapshotMeta): Promise<void> {
  let digest: FileDigest;
  try {
    digest = await digestFile(rdbPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new SnapshotCorruptionError(`snapshot RDB ${rdbPath} named by the metadata is missing`);
  }
  if (digest.sizeBytes !== meta.sizeBytes) {
    throw new SnapshotCorruptionError(
      `snapshot RDB ${rdbPath}: ${digest.sizeBytes} bytes, metadata says ${meta.sizeBytes}`,
    );
  }
  if (digest.crc32c !== meta.rdbCrc32c) {
    throw new SnapshotCorruptionError(
      `snapshot RDB ${rdbPath}: crc32c ${hex(digest.crc32c)}, metadata says ${hex(meta.rdbCrc32c)}`,
    );
  }
}

async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, data);
    await file.sync();
  } finally {
    file.close();
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, "0");
}
