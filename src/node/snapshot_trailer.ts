/**
 * @module
 * A snapshot file is the child's RDB followed by a trailer holding the node-level replicated
 * state at the same index (scripts for EVALSHA, blocked clients, the WATCH history):
 * `binary | JSON | u32 length | "RRTR"`. The JSON holds the state; bulk bytes (the WATCH
 * history's writes, megabytes of them) go in the binary part before it, its length in the JSON's
 * `binaryBytes`, so that neither side turns them into one huge string (which would stop the
 * event loop). Trailers of earlier versions have no binary part. redis-server stops reading an
 * RDB at its end marker and ignores the trailer, so the file loads as is, and a transfer of the
 * file carries everything a follower needs.
 */
import { concatBytes } from "../resp/bytes.ts";
import { writeAll } from "../resp/write_all.ts";

const magic = new TextEncoder().encode("RRTR");
const trailerFixedBytes = 8;
/** A trailer larger than this is corruption. */
const trailerMaxBytes = 256 * 1024 * 1024;
/** The binary part is written in slices of about this size, yielding between them. */
const binaryWriteSliceBytes = 1024 * 1024;
const binaryBytesKey = "binaryBytes";

/** What a trailer holds: the JSON state and the binary part (empty for none). */
export interface TrailerContent {
  extra: Record<string, unknown>;
  binary: Uint8Array;
}

/** The JSON end of a trailer (with no binary part: all of it). */
export function encodeTrailer(extra: Record<string, unknown>, binaryBytes = 0): Uint8Array {
  const fields = binaryBytes > 0 ? { ...extra, [binaryBytesKey]: binaryBytes } : extra;
  const json = new TextEncoder().encode(JSON.stringify(fields));
  const out = new Uint8Array(json.length + trailerFixedBytes);
  out.set(json);
  new DataView(out.buffer).setUint32(json.length, json.length);
  out.set(magic, json.length + 4);
  return out;
}

/**
 * Append the trailer to the file at `path`: `binary` (slices, written in order, about a
 * megabyte at a time) and then `extra`; returns the new size.
 */
export async function appendTrailer(
  path: string,
  extra: Record<string, unknown>,
  binary: Iterable<Uint8Array> = [],
): Promise<number> {
  const file = await Deno.open(path, { append: true });
  try {
    let binaryBytes = 0;
    let slice: Uint8Array[] = [];
    let sliceBytes = 0;
    const writeSlice = async () => {
      await writeAll(file, slice.length === 1 ? slice[0] : concatBytes(slice));
      binaryBytes += sliceBytes;
      slice = [];
      sliceBytes = 0;
    };
    for (const part of binary) {
      slice.push(part);
      sliceBytes += part.byteLength;
      if (sliceBytes >= binaryWriteSliceBytes) await writeSlice();
    }
    if (sliceBytes > 0) await writeSlice();
    await writeAll(file, encodeTrailer(extra, binaryBytes));
    await file.syncData();
  } finally {
    file.close();
  }
  return (await Deno.stat(path)).size;
}

/** The trailer at the end of the file at `path` (a snapshot or a received one). */
export async function readTrailer(path: string): Promise<TrailerContent> {
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
    const jsonAt = size - trailerFixedBytes - length;
    const json = await readAt(file, jsonAt, length);
    const { [binaryBytesKey]: binaryBytes = 0, ...extra } = JSON.parse(
      new TextDecoder().decode(json),
    );
    if (
      !Number.isSafeInteger(binaryBytes) || binaryBytes < 0 || binaryBytes > trailerMaxBytes ||
      binaryBytes > jsonAt
    ) {
      throw new Error(`${path}: snapshot trailer binary length ${binaryBytes} is corrupt`);
    }
    return { extra, binary: await readAt(file, jsonAt - binaryBytes, binaryBytes) };
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
