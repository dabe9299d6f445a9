/**
 * @module
 * Writing a whole buffer to a Deno file or connection (a single write may take only part).
 */

/** Anything with Deno's `write` (files, TCP and unix connections). */
export interface ByteWriter {
  write(data: Uint8Array): Promise<number>;
}

/** Write all of `data` (a single write may take only part of it). */
export async function writeAll(writer: ByteWriter, data: Uint8Array): Promise<void> {
  // Hot path (every client reply): most writes complete at once.
  let written = await writer.write(data);
  while (written < data.length) written += await writer.write(data.subarray(written));
}

export function writeAllSync(file: Deno.FsFile, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += file.writeSync(data.subarray(written));
}
