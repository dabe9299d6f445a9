/**
 * Shared fixtures for the snapshot store tests: temp node directories, RDB-like files of
 * pseudo-random bytes written in bounded pieces, and metadata builders.
 *
 * @module
 */

import { join } from "node:path";
import { SnapshotStore, type SnapshotStoreOptions } from "../../../src/storage/snapshot_store.ts";
import type { SnapshotMetaInput } from "../../../src/storage/snapshot_meta.ts";

export async function withNodeDir(body: (nodeDir: string) => Promise<void>): Promise<void> {
  const nodeDir = await Deno.makeTempDir({ prefix: "redisraft-snapshot-" });
  try {
    await body(nodeDir);
  } finally {
    await Deno.remove(nodeDir, { recursive: true });
  }
}

export async function openStore(
  nodeDir: string,
  options: Partial<SnapshotStoreOptions> = {},
): Promise<SnapshotStore> {
  const store = new SnapshotStore({ nodeDir, ...options });
  await store.open();
  return store;
}

/** Writes `sizeBytes` deterministic pseudo-random bytes (xorshift from `seed`). */
export async function writeRandomFile(
  path: string,
  sizeBytes: number,
  seed: number,
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let state = seed >>> 0 || 1;
    const piece = new Uint8Array(64 * 1024);
    for (let written = 0; written < sizeBytes; written += piece.length) {
      for (let i = 0; i < piece.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        piece[i] = state & 0xff;
      }
      const n = Math.min(piece.length, sizeBytes - written);
      let done = 0;
      while (done < n) done += await file.write(piece.subarray(done, n));
    }
  } finally {
    file.close();
  }
}

export function metaFor(index: number, term: number, sizeBytes: number): SnapshotMetaInput {
  return {
    index,
    term,
    sizeBytes,
    membership: {
      members: [
        { id: 1, addr: "127.0.0.1:5001", voter: true },
        { id: 3, addr: "127.0.0.1:5003", voter: false },
      ],
      usedNodeIds: [1, 2, 3],
    },
    extra: { dbid: "abc", scripts: ["s1"] },
  };
}

/** Writes a source RDB of `sizeBytes` next to the store and returns its path and meta. */
export async function sourceRdb(
  nodeDir: string,
  index: number,
  term: number,
  sizeBytes: number,
): Promise<{ path: string; meta: SnapshotMetaInput }> {
  const path = join(nodeDir, `source-${index}.rdb`);
  await writeRandomFile(path, sizeBytes, index * 7919 + term);
  return { path, meta: metaFor(index, term, sizeBytes) };
}

export function snapshotDirNames(nodeDir: string): string[] {
  return [...Deno.readDirSync(join(nodeDir, "snapshot"))].map((entry) => entry.name).sort();
}

export async function filesEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}
