/**
 * @module
 * The `INFO persistence` fields that RDB snapshots and installs wait on, parsed from the
 * child's reply, and a poll loop bounded by a deadline.
 */
import { encodeCommand } from "../resp/reply_writer.ts";
import { decodeReply, ReplyError } from "../resp/reply_decoder.ts";
import type { PipelinedConnection } from "./pipelined_connection.ts";
import { sleep } from "./redis_child.ts";

export const INFO_PERSISTENCE_COMMAND = encodeCommand(["INFO", "persistence"]);

export interface PersistenceInfo {
  /** The child is loading an RDB at start (commands other than INFO get -LOADING). */
  readonly loading: boolean;
  readonly bgsaveInProgress: boolean;
  /** Outcome of the last BGSAVE (`rdb_last_bgsave_status:ok`). */
  readonly lastBgsaveOk: boolean;
}

export function parsePersistenceInfo(text: string): PersistenceInfo {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const field = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) throw new Error(`INFO persistence has no ${name}`);
    return value;
  };
  return {
    loading: field("loading") !== "0" || (fields.get("async_loading") ?? "0") !== "0",
    bgsaveInProgress: field("rdb_bgsave_in_progress") !== "0",
    lastBgsaveOk: field("rdb_last_bgsave_status") === "ok",
  };
}

/** Decodes a reply frame that must be a bulk or status string; error replies throw. */
export function replyText(frame: Uint8Array, what: string): string {
  const value = decodeReply(frame);
  if (value instanceof ReplyError) throw new Error(`${what}: ${value.message}`);
  if (typeof value !== "string") throw new Error(`${what}: unexpected reply ${String(value)}`);
  return value;
}

export async function queryPersistence(connection: PipelinedConnection): Promise<PersistenceInfo> {
  const frame = await connection.request(INFO_PERSISTENCE_COMMAND);
  return parsePersistenceInfo(replyText(frame, "INFO persistence"));
}

/**
 * Polls `INFO persistence` until `done` returns true; throws `timeoutMessage` at the
 * deadline. `done` may throw to stop early with an error.
 */
export async function pollPersistence(
  connection: PipelinedConnection,
  done: (info: PersistenceInfo) => boolean,
  timeoutMs: number,
  pollIntervalMs: number,
  timeoutMessage: string,
): Promise<PersistenceInfo> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const info = await queryPersistence(connection);
    if (done(info)) return info;
    if (performance.now() >= deadline) throw new Error(timeoutMessage);
    await sleep(pollIntervalMs);
  }
}
