/**
 * @module
 * What a power cut takes from a node's log: the journal kept by tests/helpers/power_loss.c
 * (preloaded into the node) lists every write to a log segment and every sync of one. Once the
 * node is killed, the writes made since their segment's last sync are zeroed, as if they had
 * never reached the disk.
 */
import { readExactlyAt } from "../../src/storage/snapshot_file_io.ts";
import { writeAll } from "../../src/resp/write_all.ts";

/** A range of a file written since its last sync. */
interface UnsyncedWrite {
  offset: number;
  length: number;
}

/** The writes of each segment since its last sync, by path. */
export function unsyncedWrites(journal: string): Map<string, UnsyncedWrite[]> {
  const pending = new Map<string, UnsyncedWrite[]>();
  for (const line of journal.split("\n")) {
    const write = /^W (\d+) (\d+) (.+)$/.exec(line);
    if (write) {
      const [, offset, length, path] = write;
      const ranges = pending.get(path) ?? [];
      ranges.push({ offset: Number(offset), length: Number(length) });
      pending.set(path, ranges);
    } else if (line.startsWith("S ")) {
      pending.delete(line.slice(2));
    }
  }
  return pending;
}

/**
 * Zeroes what the node (killed, not running) wrote to its log since each segment's last sync,
 * and starts a new journal for its next run. Returns the number of bytes of data lost: written
 * bytes that were not zeros already.
 */
export async function cutPower(journalPath: string): Promise<number> {
  const journal = await Deno.readTextFile(journalPath).catch(() => "");
  let lostBytes = 0;
  for (const [path, ranges] of unsyncedWrites(journal)) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true });
    } catch {
      continue; // removed since (a compaction, a truncation that dropped the segment)
    }
    try {
      const { size } = await file.stat();
      for (const { offset, length } of ranges) {
        const end = Math.min(offset + length, size);
        if (end <= offset) continue;
        const bytes = await readExactlyAt(file, offset, end - offset);
        lostBytes += bytes.filter((byte) => byte !== 0).length;
        await file.seek(offset, Deno.SeekMode.Start);
        await writeAll(file, new Uint8Array(end - offset));
      }
    } finally {
      file.close();
    }
  }
  await Deno.writeTextFile(journalPath, "");
  return lostBytes;
}
