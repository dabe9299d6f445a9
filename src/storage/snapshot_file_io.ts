/**
 * File helpers for snapshots, which can be far larger than memory: checksumming and
 * reading with bounded buffers, fsync of a file by path, and moving a file into place
 * (rename, or copy when it lives on another file system).
 *
 * @module
 */

import { assert } from "./assert.ts";
import { crc32c } from "./crc32c.ts";

/** Buffer size used when streaming a whole file (checksums). */
export const SNAPSHOT_STREAM_BUFFER_BYTES = 1 << 20;

export interface FileDigest {
  readonly sizeBytes: number;
  readonly crc32c: number;
}

/** Size and CRC-32C of a file, read with one bounded buffer. */
export async function digestFile(path: string): Promise<FileDigest> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(SNAPSHOT_STREAM_BUFFER_BYTES);
    let sizeBytes = 0;
    let crc = 0;
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      crc = crc32c(buffer, crc, 0, n);
      sizeBytes += n;
    }
    return { sizeBytes, crc32c: crc };
  } finally {
    file.close();
  }
}

/** fsync a file's data and metadata. */
export async function syncFile(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/** Exactly `lengthBytes` bytes at `offsetBytes`; throws if the file ends before. */
export async function readExactlyAt(
  file: Deno.FsFile,
  offsetBytes: number,
  lengthBytes: number,
): Promise<Uint8Array> {
  await file.seek(offsetBytes, Deno.SeekMode.Start);
  const out = new Uint8Array(lengthBytes);
  let filled = 0;
  while (filled < lengthBytes) {
    const n = await file.read(out.subarray(filled));
    assert(n !== null, `snapshot file ends before offset ${offsetBytes + lengthBytes}`);
    filled += n;
  }
  return out;
}

/**
 * Puts `sourcePath` at `destPath` (replacing it). `move` renames, falling back to copy +
 * unlink across file systems; `copy` leaves the source alone. Not durable by itself.
 */
export async function placeFile(
  sourcePath: string,
  destPath: string,
  mode: "move" | "copy",
): Promise<void> {
  if (mode === "move") {
    try {
      await Deno.rename(sourcePath, destPath);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "EXDEV") throw error;
    }
  }
  await Deno.copyFile(sourcePath, destPath);
  if (mode === "move") await Deno.remove(sourcePath);
}
