import { writeAll } from "../resp/write_all.ts";
/**
 * @module
 * A snapshot file is the child's RDB followed by a trailer holding the node-level replicated
 * state at the same index (scripts for EVALSHA, blocked clients): `JSON | u32 length | "RRTR"`.
 * redis-server stops reading an RDB at its end marker and ignores the trailer, so the file loads
 * as is, and a transfer of the file carries everything a follower needs.
 */
const magic = new TextEncoder().encode("RRTR");
const trailerFixedBytes = 8;
/** A trailer larger than this is corruption. */
const trailerMaxBytes = 256 * 1024 * 1024;

export function encodeTrailer(extra: Record<string, unknown>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(extra));
  const out = new Uint8Array(json.length + trailerFixedBytes);
  out.set(json);
  new DataView(out.buffer).setUint32(json.length, json.length);
  out.set(magic, json.length + 4);
  return out;
}

/** Append the trailer to the file at `path`; returns the new size. */
export async function appendTrailer(path: string, extra: Record<string, unknown>): Promise<number> {
  const file = await Deno.open(path, { append: true });
  try {
    const trailer = encodeTrailer(extra);
    await writeAll(file, trailer);
    await file.syncData();
  } finally {
    file.close();
  }
  return (await Deno.stat(path)).size;
}

/** The trailer's state at the end of the file at `path` (a snapshot or a received one). */
export async function readTrailer(path: string): Promise<Record<string, unknown>> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    if (size < trailerFixedBytes) throw new Error(`${path}: no snapshot trailer`);
    const tail = await readAt(file, size - trailerFixedBytes, trailerFixedBytes);
    if (!magic.every((byte, i) => tail[4 + i] === byte)) {
      throw new Error(`${path}: no snapshot trailer`);
    }
    const length = new DataView(tail.buffer, tail.byteOffset).getUint32(0);
    if (length > trailerMaxBytes || length > size - trailerFixedBytes) {
      throw new Error(`${path}: snapshot trailer length ${length} is corrupt`);
    }
    const json = await readAt(file, size - trailerFixedBytes - length, length);
    return JSON.parse(new TextDecoder().decode(json));
  } finally {
    file.close();
  }
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) throw new Error("snapshot file ended early");
    filled += n;
  }
  return out;
}
