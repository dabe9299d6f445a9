/**
 * @module
 * Starting the redis child on a snapshot (or empty). The child loads `<dir>/<dbfilename>`
 * at start, and BGSAVE writes to that same file, so every start goes through
 * {@link prepareChildRdb}: the file is made exactly the snapshot's RDB or removed, together
 * with temp files of an interrupted BGSAVE. A leftover RDB from a BGSAVE the node crashed
 * before publishing is thus never loaded.
 *
 * The RDB is copied, not hard-linked: redis itself only ever renames over its dbfilename,
 * but anything that writes into the child's file in place (e.g. appending a trailer after a
 * BGSAVE that did not replace it) would otherwise write into the published snapshot.
 */
import { dirname, join } from "node:path";
import { encodeCommand } from "../resp/reply_writer.ts";
import { decodeReply } from "../resp/reply_decoder.ts";
import { PipelinedConnection } from "./pipelined_connection.ts";
import { pollPersistence } from "./rdb_info.ts";

/** What installing needs from the child; `RedisChild` fits. */
export interface RestartableChild {
  readonly socketPath: string;
  stop(): Promise<void>;
  /**
   * Starts the child; a `RedisChild` that takes `loadRdbPath` copies it in itself. `settings`
   * are extra `--name value` arguments, in force before the RDB loads.
   */
  start(loadRdbPath?: string, settings?: readonly string[], clockStartMs?: number): Promise<void>;
}

const DBSIZE_COMMAND = encodeCommand(["DBSIZE"]);
const TEMP_RDB_PATTERN = /^temp-\d+\.rdb$/;
const LOAD_POLL_INTERVAL_MS = 10;

/**
 * Makes `childRdbPath` (`<child dir>/<dbfilename>`) exactly `snapshotRdbPath`, or absent
 * when `snapshotRdbPath` is undefined. The child must not be running.
 */
export async function prepareChildRdb(
  childRdbPath: string,
  snapshotRdbPath: string | undefined,
): Promise<void> {
  const dir = dirname(childRdbPath);
  await Deno.mkdir(dir, { recursive: true });
  for await (const entry of Deno.readDir(dir)) {
    if (TEMP_RDB_PATTERN.test(entry.name)) await Deno.remove(join(dir, entry.name));
  }
  const tmpPath = `${childRdbPath}.installing`;
  await Deno.remove(tmpPath).catch(() => {});
  if (snapshotRdbPath === undefined) {
    await Deno.remove(childRdbPath).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    return;
  }
  await Deno.copyFile(snapshotRdbPath, tmpPath);
  await Deno.rename(tmpPath, childRdbPath);
}

export interface InstallRdbOptions {
  /** Its `<dir>/<dbfilename>` must be `childRdbPath`. */
  readonly child: RestartableChild;
  /** `<child dir>/<dbfilename>`: what the child loads at start. */
  readonly childRdbPath: string;
  /** The published snapshot's RDB; undefined starts the child empty. */
  readonly snapshotRdbPath: string | undefined;
  /** Longest wait for the child to finish loading after its socket opens. */
  readonly loadTimeoutMs: number;
  /** Extra `--name value` start arguments (the snapshot's replicated CONFIG SET values). */
  readonly settings?: readonly string[];
  /** The snapshot's entry time: the child's clock while it loads (with the clock library). */
  readonly clockStartMs?: number;
}

export interface InstallRdbResult {
  /** DBSIZE after loading. */
  readonly keys: number;
  /** From stopping the old child to the new one having loaded. */
  readonly durationMs: number;
}

/**
 * (Re)starts the child on the snapshot: stop it if running, put the RDB in place, start,
 * wait until loaded (`loading:0`), count its keys. Connections to the old child end (their
 * waiting requests get the lost-reply error); open new ones afterwards.
 */
export async function installRdb(options: InstallRdbOptions): Promise<InstallRdbResult> {
  const startedAtMs = performance.now();
  await options.child.stop();
  await prepareChildRdb(options.childRdbPath, options.snapshotRdbPath);
  await options.child.start(options.snapshotRdbPath, options.settings, options.clockStartMs);
  const keys = await waitChildLoaded(options.child.socketPath, options.loadTimeoutMs);
  return { keys, durationMs: Math.round(performance.now() - startedAtMs) };
}

/** Waits until the child has loaded its RDB; returns its DBSIZE. */
export async function waitChildLoaded(socketPath: string, loadTimeoutMs: number): Promise<number> {
  const connection = await PipelinedConnection.connect(socketPath);
  try {
    await pollPersistence(
      connection,
      (info) => !info.loading,
      loadTimeoutMs,
      LOAD_POLL_INTERVAL_MS,
      `redis child did not finish loading within ${loadTimeoutMs} ms`,
    );
    const keys = decodeReply(await connection.request(DBSIZE_COMMAND));
    if (typeof keys !== "number") throw new Error(`DBSIZE: unexpected reply ${String(keys)}`);
    return keys;
  } finally {
    connection.close();
  }
}
