/**
 * @module
 * What a power cut takes from a node's data directory: the journal kept by
 * tests/helpers/power_loss.c (preloaded into the node) lists every write and sync of its files,
 * every sync of its directories, and every create, mkdir, rmdir, rename and unlink (files that a
 * rename replaced or an unlink removed are kept as hard links in `<journal>.d/`). Once the node
 * is killed, the cut undoes, newest first, each change of a directory that was not synced after
 * it (a rename whose target directory was synced keeps its new name, and gets its old one back
 * too if that directory was not), then zeroes what was written to each file since its last sync,
 * as if it had never reached the disk. Truncations count as durable at once.
 */
import { dirname, join } from "node:path";
import { readExactlyAt } from "../../src/storage/snapshot_file_io.ts";
import { writeAll } from "../../src/resp/write_all.ts";

/**
 * The settings the power-loss library reads (besides LD_PRELOAD, which names it): where to
 * journal, the node's data directory, and how much slower each sync is.
 */
export function powerLossEnv(
  journal: string,
  dataDir: string,
  syncDelayUs: number,
): Record<string, string> {
  return {
    RAFT_POWER_LOSS_JOURNAL: journal,
    RAFT_POWER_LOSS_DIR: dataDir,
    RAFT_POWER_LOSS_SYNC_DELAY_US: String(syncDelayUs),
  };
}

/** A range of a file written since its last sync. */
interface UnsyncedWrite {
  offset: number;
  length: number;
}

type DirectoryChange =
  | { kind: "create"; line: number; ino: number; path: string }
  | { kind: "mkdir" | "rmdir"; line: number; path: string }
  | { kind: "rename"; line: number; seq: number; backup: boolean; from: string; to: string }
  | { kind: "unlink"; line: number; seq: number; path: string };

interface Journal {
  /** The writes of each file (by inode) since its last sync. */
  unsynced: Map<number, UnsyncedWrite[]>;
  changes: DirectoryChange[];
  /** The line of each directory's last sync. */
  lastDirSync: Map<string, number>;
}

function parseJournal(text: string): Journal {
  const unsynced = new Map<number, UnsyncedWrite[]>();
  const changes: DirectoryChange[] = [];
  const lastDirSync = new Map<string, number>();
  const cancelled = new Set<number>();
  text.split("\n").forEach((line, index) => {
    const [kind, ...rest] = line.split(" ");
    const tail = (count: number) => rest.slice(count).join(" ");
    switch (kind) {
      case "W": {
        const ino = Number(rest[0]);
        const ranges = unsynced.get(ino) ?? [];
        ranges.push({ offset: Number(rest[1]), length: Number(rest[2]) });
        unsynced.set(ino, ranges);
        break;
      }
      case "S":
        unsynced.delete(Number(rest[0]));
        break;
      case "D":
        lastDirSync.set(tail(0), index);
        break;
      case "C":
        changes.push({ kind: "create", line: index, ino: Number(rest[0]), path: tail(1) });
        break;
      case "M":
      case "K":
        changes.push({ kind: kind === "M" ? "mkdir" : "rmdir", line: index, path: tail(0) });
        break;
      case "R": {
        const [from, to] = tail(2).split("\t");
        const seq = Number(rest[0]);
        changes.push({ kind: "rename", line: index, seq, backup: rest[1] === "1", from, to });
        break;
      }
      case "U":
        changes.push({ kind: "unlink", line: index, seq: Number(rest[0]), path: tail(1) });
        break;
      case "X":
        cancelled.add(Number(rest[0]));
        break;
    }
  });
  const made = changes.filter((change) => !("seq" in change) || !cancelled.has(change.seq));
  return { unsynced, changes: made, lastDirSync };
}

async function inodeOf(path: string): Promise<number | null> {
  try {
    return (await Deno.lstat(path)).ino;
  } catch {
    return null;
  }
}

const exists = async (path: string) => (await inodeOf(path)) !== null;

/**
 * Runs a step of an undo that a later, durable change may have made moot (the file it would
 * restore was removed for good, or its name taken again).
 */
async function unlessMoot(step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.AlreadyExists)) {
      throw error;
    }
  }
}

/** Undoes `change` (it was not made durable): its directory is as before it. */
async function undo(change: DirectoryChange, backupDir: string, synced: (path: string) => boolean) {
  const backup = "seq" in change ? join(backupDir, String(change.seq)) : "";
  switch (change.kind) {
    case "create":
      if (await inodeOf(change.path) === change.ino) await Deno.remove(change.path);
      break;
    case "mkdir":
      await unlessMoot(Deno.remove(change.path, { recursive: true }));
      break;
    case "rmdir":
      await unlessMoot(Deno.mkdir(change.path));
      break;
    case "unlink":
      await unlessMoot(Deno.link(backup, change.path));
      break;
    case "rename": {
      const { from, to } = change;
      if (to && synced(to)) {
        // The new name is on disk; the old one comes back too (its directory was not synced).
        if (from) await unlessMoot(Deno.link(to, from));
        break;
      }
      if (to && await exists(to)) {
        if (from) await unlessMoot(Deno.rename(to, from));
        else await Deno.remove(to);
      }
      if (change.backup) await unlessMoot(Deno.link(backup, to));
      break;
    }
  }
}

/**
 * Whether a change survives the cut: its directory was synced after it (a rename: both names'
 * directories; a name outside the data directory counts as synced).
 */
function isDurable(change: DirectoryChange, synced: (path: string) => boolean): boolean {
  if (change.kind !== "rename") return synced(change.path);
  return (!change.to || synced(change.to)) && (!change.from || synced(change.from));
}

/** Every file under `dir` by inode. */
async function pathsByInode(dir: string, found = new Map<number, string>()) {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await pathsByInode(path, found);
    else if (entry.isFile) {
      const ino = await inodeOf(path);
      if (ino !== null) found.set(ino, path);
    }
  }
  return found;
}

/** Zeroes `ranges` of the file at `path`; returns how many of those bytes were not zeros. */
async function zeroRanges(path: string, ranges: UnsyncedWrite[]): Promise<number> {
  const file = await Deno.open(path, { read: true, write: true });
  let lostBytes = 0;
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
  return lostBytes;
}

export interface PowerCut {
  /** Written bytes (not zeros already) that the cut zeroed. */
  lostBytes: number;
  /** Directory changes it undid. */
  undoneChanges: number;
}

/**
 * Takes from the data directory `dataDir` of a killed node (not running) what its disk had not
 * made durable, and starts a new journal for its next run. `keepJournalAs` keeps a copy of the
 * journal it went by (for a post-mortem).
 */
export async function cutPower(
  journalPath: string,
  dataDir: string,
  keepJournalAs?: string,
): Promise<PowerCut> {
  const text = await Deno.readTextFile(journalPath).catch(() => "");
  if (keepJournalAs) await Deno.writeTextFile(keepJournalAs, text);
  const { unsynced, changes, lastDirSync } = parseJournal(text);
  const backupDir = `${journalPath}.d`;
  let undoneChanges = 0;
  for (const change of changes.toReversed()) {
    const synced = (path: string) => (lastDirSync.get(dirname(path)) ?? -1) > change.line;
    if (isDurable(change, synced)) continue;
    await undo(change, backupDir, synced);
    undoneChanges++;
  }
  let lostBytes = 0;
  // The data directory itself is gone if its creation never became durable.
  const files = unsynced.size > 0 && await exists(dataDir)
    ? await pathsByInode(dataDir)
    : new Map<number, string>();
  for (const [ino, ranges] of unsynced) {
    const path = files.get(ino);
    if (path !== undefined) lostBytes += await zeroRanges(path, ranges);
  }
  await Deno.remove(backupDir, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(journalPath, "");
  return { lostBytes, undoneChanges };
}
