/**
 * The follower side of a snapshot transfer: chunks arrive in order and are appended to a
 * temp file (`receive-<term>-<index>.part` in the snapshot directory) while a running
 * CRC-32C is kept. Only the expected next offset is accepted; offset 0 restarts the
 * transfer (as the raft core does). Memory holds one chunk; disk at most
 * `receiveMaxBytes`. `complete` fsyncs the file and hands it to the store to publish;
 * a transfer that is not completed is never published, and after a crash its temp file
 * is garbage that `SnapshotStore.open()` removes.
 *
 * @module
 */

import { assert, assertIndex } from "./assert.ts";
import { crc32c } from "./crc32c.ts";
import type { FileDigest } from "./snapshot_file_io.ts";
import { removeIfExists } from "./atomic_file.ts";
import type { SnapshotMetaInput } from "./snapshot_meta.ts";
import { writeAll } from "../resp/write_all.ts";

/** A transfer is identified by the leader's term and the snapshot's last index. */
export interface SnapshotReceiveKey {
  readonly term: number;
  readonly index: number;
}

/** The receiver's view of the store: publish a complete, fsynced file. */
export type PublishReceived<T> = (
  path: string,
  meta: SnapshotMetaInput,
  digest: FileDigest,
) => Promise<T>;

/** A chunk would take the received snapshot beyond the configured limit. */
export class SnapshotTooLargeError extends Error {
  override readonly name = "SnapshotTooLargeError";
}

export function receiveFileNameFor(key: SnapshotReceiveKey): string {
  return `receive-${key.term}-${key.index}.part`;
}

export class SnapshotReceiver<T = unknown> {
  #file: Deno.FsFile | undefined;
  #nextOffsetBytes = 0;
  #crc = 0;
  #state: "open" | "completed" | "aborted" = "open";
  /** Operations run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly key: SnapshotReceiveKey,
    readonly path: string,
    private readonly receiveMaxBytes: number,
    private readonly publish: PublishReceived<T>,
    file: Deno.FsFile,
  ) {
    this.#file = file;
  }

  /** Creates (truncating) the temp file. */
  static async create<T>(
    key: SnapshotReceiveKey,
    path: string,
    receiveMaxBytes: number,
    publish: PublishReceived<T>,
  ): Promise<SnapshotReceiver<T>> {
    assertIndex(key.term, "receive term");
    assertIndex(key.index, "receive index");
    assert(receiveMaxBytes >= 1, "snapshotReceiveMaxBytes must be >= 1");
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new SnapshotReceiver(key, path, receiveMaxBytes, publish, file);
  }

  /** Offset the next chunk must start at (bytes received so far). */
  get nextOffsetBytes(): number {
    return this.#nextOffsetBytes;
  }

  get isOpen(): boolean {
    return this.#state === "open";
  }

  /**
   * Appends `bytes` at `offsetBytes` if that is the expected next offset (or 0, which
   * restarts the transfer). Resolves false, changing nothing, for any other offset.
   * Throws {@link SnapshotTooLargeError} (and aborts) beyond `receiveMaxBytes`.
   */
  writeChunk(offsetBytes: number, bytes: Uint8Array): Promise<boolean> {
    return this.#serial(async () => {
      assert(this.#state === "open", `snapshot receive ${this.path} is ${this.#state}`);
      assertIndex(offsetBytes, "chunk offset");
      const file = this.#file!;
      if (offsetBytes !== this.#nextOffsetBytes) {
        if (offsetBytes !== 0) return false;
        await file.truncate(0);
        await file.seek(0, Deno.SeekMode.Start);
        this.#nextOffsetBytes = 0;
        this.#crc = 0;
      }
      if (offsetBytes + bytes.length > this.receiveMaxBytes) {
        await this.#abortNow();
        throw new SnapshotTooLargeError(
          `snapshot ${this.key.index} (term ${this.key.term}) exceeds ` +
            `snapshotReceiveMaxBytes ${this.receiveMaxBytes}`,
        );
      }
      await writeAll(file, bytes);
      this.#crc = crc32c(bytes, this.#crc);
      this.#nextOffsetBytes += bytes.length;
      return true;
    });
  }

  /**
   * Publishes the received snapshot: checks it is whole (`meta.sizeBytes` received, same
   * index as the key), fsyncs it and hands it to the store. Throws, leaving the receive
   * open, when it is not whole.
   */
  complete(meta: SnapshotMetaInput): Promise<T> {
    return this.#serial(async () => {
      assert(this.#state === "open", `snapshot receive ${this.path} is ${this.#state}`);
      assert(
        meta.index === this.key.index,
        `received snapshot is for index ${this.key.index}, meta says ${meta.index}`,
      );
      assert(
        meta.sizeBytes === this.#nextOffsetBytes,
        `received ${this.#nextOffsetBytes} bytes of a ${meta.sizeBytes}-byte snapshot`,
      );
      const file = this.#file!;
      await file.sync();
      file.close();
      this.#file = undefined;
      this.#state = "completed";
      return await this.publish(this.path, meta, {
        sizeBytes: this.#nextOffsetBytes,
        crc32c: this.#crc,
      });
    });
  }

  /** Drops the transfer and its temp file. Idempotent. */
  abort(): Promise<void> {
    return this.#serial(() => this.#abortNow());
  }

  async #abortNow(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    this.#file?.close();
    this.#file = undefined;
    await removeIfExists(this.path);
  }

  #serial<R>(operation: () => Promise<R>): Promise<R> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }
}
