/**
 * @module
 * An RDB of the redis child exactly at an applied index. `BGSAVE` is queued on the ordered
 * apply connection in the same synchronous step as the call, so the child forks after every
 * entry sent before it and before any entry sent after it: the RDB is the state at the
 * index of the last entry sent. Writes keep flowing while the fork writes the file; the
 * completion is polled on a connection of its own (`INFO persistence`), bounded by a
 * timeout.
 *
 * The child writes the RDB to `<child dir>/<dbfilename>` (temp file + rename, fsynced by
 * redis). A file left there (an earlier take that was not published) is removed first, so the
 * file found afterwards is this BGSAVE's: no counter of the child's is needed to tell, and
 * `CONFIG RESETSTAT` may reset them at any time. Only one snapshot at a time: the caller must
 * await (and publish, i.e. move away) the result before starting another.
 */
import { encodeCommand } from "../resp/reply_writer.ts";
import { PipelinedConnection } from "./pipelined_connection.ts";
import { pollPersistence, replyText } from "./rdb_info.ts";

const BGSAVE_COMMAND = encodeCommand(["BGSAVE"]);
export const RDB_POLL_INTERVAL_MS_DEFAULT = 20;

export interface RdbSnapshotOptions {
  /** The child's unix socket; completion is polled on a separate connection to it. */
  readonly socketPath: string;
  /** Where BGSAVE writes: `<child dir>/<dbfilename>`. */
  readonly rdbPath: string;
  /** Longest wait for the BGSAVE to finish. */
  readonly bgsaveTimeoutMs: number;
  readonly pollIntervalMs?: number;
}

export interface RdbSnapshotResult {
  /** The finished RDB; the caller moves it into the snapshot store. */
  readonly rdbPath: string;
  readonly sizeBytes: number;
  /** From queueing BGSAVE to seeing it finished. */
  readonly durationMs: number;
}

/**
 * Queues `INFO persistence` + `BGSAVE` on `applyConnection` now (synchronously: call it
 * right after sending the entry at the snapshot's index, before sending the next one) and
 * resolves once the RDB is complete. Rejects if BGSAVE is refused (e.g. one is already
 * running), fails, or does not finish within `bgsaveTimeoutMs`.
 */
export function startRdbSnapshot(
  applyConnection: PipelinedConnection,
  options: RdbSnapshotOptions,
): Promise<RdbSnapshotResult> {
  const startedAtMs = performance.now();
  try {
    Deno.removeSync(options.rdbPath); // synchronous: BGSAVE is queued in this same step
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return Promise.reject(error);
  }
  const started = applyConnection.request(BGSAVE_COMMAND);
  return awaitBgsave(started, startedAtMs, options);
}

async function awaitBgsave(
  startedReply: Promise<Uint8Array>,
  startedAtMs: number,
  options: RdbSnapshotOptions,
): Promise<RdbSnapshotResult> {
  const status = replyText(await startedReply, "BGSAVE");
  if (status !== "Background saving started") throw new Error(`BGSAVE: unexpected "${status}"`);
  // From the BGSAVE reply on, rdb_bgsave_in_progress stays 1 until this fork ends, and no
  // other save can start (we run one at a time), so the first 0 seen is our outcome.
  const poller = await PipelinedConnection.connect(options.socketPath);
  try {
    await pollPersistence(
      poller,
      (info) => {
        if (info.bgsaveInProgress) return false;
        if (!info.lastBgsaveOk) throw new Error("BGSAVE failed: see the child's redis.log");
        return true;
      },
      options.bgsaveTimeoutMs,
      options.pollIntervalMs ?? RDB_POLL_INTERVAL_MS_DEFAULT,
      `BGSAVE did not finish within ${options.bgsaveTimeoutMs} ms`,
    );
  } finally {
    poller.close();
  }
  let size: number;
  try {
    size = (await Deno.stat(options.rdbPath)).size;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(`BGSAVE finished without writing ${options.rdbPath}`);
  }
  return {
    rdbPath: options.rdbPath,
    sizeBytes: size,
    durationMs: Math.round(performance.now() - startedAtMs),
  };
}
