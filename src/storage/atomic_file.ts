/**
 * Small files replaced atomically: write `<path>.tmp` → fsync → rename over `<path>` →
 * fsync the directory. A reader sees either the old or the new content, also after a
 * crash at any point. One writer per path at a time.
 *
 * @module
 */

import { dirname } from "node:path";
import { writeAll } from "../resp/write_all.ts";

export class AtomicFile {
  constructor(readonly path: string) {}

  get tmpPath(): string {
    return `${this.path}.tmp`;
  }

  /** The current content, or undefined if the file was never written. */
  async read(): Promise<Uint8Array | undefined> {
    try {
      return await Deno.readFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /** Replaces the content; durable when the promise resolves. */
  async write(data: Uint8Array): Promise<void> {
    const file = await Deno.open(this.tmpPath, { write: true, create: true, truncate: true });
    try {
      await writeAll(file, data);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(this.tmpPath, this.path);
    await syncDir(dirname(this.path));
  }

  /** Removes the file (and a leftover temp file); durable when the promise resolves. */
  async remove(): Promise<void> {
    await removeIfExists(this.tmpPath);
    await removeIfExists(this.path);
    await syncDir(dirname(this.path));
  }
}

/**
 * mkdir -p `dir`; each directory it creates is synced into its parent, so a power cut keeps it.
 * One that already exists is left as it is.
 */
export async function makeDurableDir(dir: string): Promise<void> {
  if (await exists(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) await makeDurableDir(parent);
  try {
    await Deno.mkdir(dir);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return; // made meanwhile, by someone else
    throw error;
  }
  await syncDir(parent);
}

/** The path names a file, directory or link (a dangling link too). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** fsync a directory so that creates, renames and unlinks inside it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
