/**
 * @module
 * What a removed member keeps of its Raft state: its identity, hard state, log and snapshots
 * move under `<dir>/removed-<node id>-<ms>/` (for an operator to inspect), durably, so that
 * neither a restart nor a power cut brings the member back.
 */
import { syncDir } from "../storage/atomic_file.ts";
import { HARD_STATE_FILE_NAME } from "../storage/hard_state_store.ts";
import { IDENTITY_FILE_NAME } from "../storage/identity_store.ts";
import { LOG_DIR_NAME } from "../storage/segmented_log.ts";
import { SNAPSHOT_DIR_NAME } from "../storage/snapshot_store.ts";

/** Move the member's files out of `dir`; returns the archive's path. */
export async function archiveMemberFiles(
  dir: string,
  nodeId: number,
  nowMs = Date.now(),
): Promise<string> {
  const archive = `${dir}/removed-${nodeId}-${nowMs}`;
  await Deno.mkdir(archive, { recursive: true });
  for (const name of [IDENTITY_FILE_NAME, HARD_STATE_FILE_NAME, LOG_DIR_NAME, SNAPSHOT_DIR_NAME]) {
    // Any of them may be missing (a member removed before its first snapshot has none).
    await Deno.rename(`${dir}/${name}`, `${archive}/${name}`).catch(() => {});
  }
  await syncDir(archive);
  await syncDir(dir);
  return archive;
}
