/**
 * @module
 * The node's config as the Raft core's settings: its timings in ticks and its batching limits,
 * checked the way the core checks them, and the read mode that `quorum-reads yes` stands for.
 */
import type { Config, ReadMode } from "../config/config_schema.ts";
import { type RaftTunables, resolveRaftConfig } from "../raft/mod.ts";

/** The read mode `quorum-reads yes` stands for on a node configured with `readMode`. */
export function quorumReadModeOf(readMode: ReadMode): "linearizable" | "lease" {
  return readMode === "lease" ? "lease" : "linearizable";
}

/** Why the core would refuse these settings (checked before it exists), or undefined. */
export function invalidTunables(tunables: RaftTunables): string | undefined {
  try {
    resolveRaftConfig({ id: 1, random: Math.random, ...tunables });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The core's timing and batching settings from the node's config (milliseconds to ticks). */
export function raftTunables(config: Config): RaftTunables {
  const ticksPerMs = 1 / config.tickIntervalMs;
  return {
    electionTicks: Math.max(2, Math.round(config.electionTimeoutMs * ticksPerMs)),
    heartbeatTicks: Math.max(1, Math.round(config.heartbeatIntervalMs * ticksPerMs)),
    maxInflightAppendsCount: config.appendReqMaxCount,
    maxAppendEntriesBytes: config.appendReqMaxBytes,
    snapshotChunkBytes: config.snapshotReqMaxBytes,
    maxInflightSnapshotChunksCount: config.snapshotReqMaxCount,
  };
}
