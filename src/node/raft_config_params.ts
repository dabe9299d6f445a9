/**
 * @module
 * `CONFIG GET/SET raft.<name>` with RedisRaft's parameter names, mapped onto our config keys.
 * Init-only parameters are refused after init/join with RedisRaft's message; the others take
 * effect at once.
 */
import {
  type Config,
  configSchema,
  crossFieldError,
  peerResponseTimeoutMinMs,
} from "../config/config_schema.ts";
import { globMatch } from "./glob_match.ts";

type Kind = "ms" | "int" | "bytes" | "bool" | "string" | "loglevel" | "quorumReads";

interface Param {
  key: keyof Config;
  kind: Kind;
  initOnly?: boolean;
  hidden?: boolean;
  /** Least value CONFIG SET takes (kind "ms"). */
  minMs?: number;
}

/** RedisRaft name → our config key. */
export const raftParams: Record<string, Param> = {
  "id": { key: "nodeId", kind: "int", initOnly: true },
  "addr": { key: "addr", kind: "string", initOnly: true },
  "periodic-interval": { key: "tickIntervalMs", kind: "ms", initOnly: true },
  // Take effect at once (timing and batching through the core, which may refuse them).
  "request-timeout": { key: "heartbeatIntervalMs", kind: "ms" },
  "election-timeout": { key: "electionTimeoutMs", kind: "ms" },
  "join-timeout": { key: "joinTimeoutMs", kind: "ms" },
  "proxy-response-timeout": { key: "proxyResponseTimeoutMs", kind: "ms" },
  "connection-timeout": { key: "peerConnectTimeoutMs", kind: "ms" },
  "reconnect-interval": { key: "peerReconnectMinMs", kind: "ms" },
  "response-timeout": {
    key: "peerResponseTimeoutMs",
    kind: "ms",
    minMs: peerResponseTimeoutMinMs,
  },
  "log-max-file-size": { key: "logMaxBytes", kind: "bytes" },
  "log-fsync": { key: "logFsync", kind: "bool" },
  "quorum-reads": { key: "readMode", kind: "quorumReads" },
  "follower-proxy": { key: "followerProxy", kind: "bool" },
  "append-req-max-count": { key: "appendReqMaxCount", kind: "int" },
  "append-req-max-size": { key: "appendReqMaxBytes", kind: "bytes" },
  "snapshot-req-max-count": { key: "snapshotReqMaxCount", kind: "int" },
  "snapshot-req-max-size": { key: "snapshotReqMaxBytes", kind: "bytes" },
  "loglevel": { key: "logLevel", kind: "loglevel" },
  "cluster-password": { key: "clusterPassword", kind: "string", hidden: true },
};

const initOnlyMessage = "Configuration change is not allowed after init/join for this parameter";

function show(config: Config, param: Param): string {
  const value = config[param.key];
  if (param.kind === "bool") return value ? "yes" : "no";
  if (param.kind === "quorumReads") return value === "stale" ? "no" : "yes";
  return String(value);
}

/**
 * Name/value pairs of raft.* parameters matching `pattern`. `raft.id` is the node's id once it
 * has one (`nodeId`, from init or join, as RedisRaft sets its id then), else the configured one.
 */
export function configGet(config: Config, pattern: string, nodeId: number): string[] {
  const out: string[] = [];
  for (const [name, param] of Object.entries(raftParams)) {
    if (param.hidden || !globMatch(pattern, `raft.${name}`, true)) continue;
    out.push(`raft.${name}`, name === "id" && nodeId ? String(nodeId) : show(config, param));
  }
  return out;
}

/** The parameter `raft.<name>` (any case) names, if we have it: own names only. */
function raftParamOf(fullName: string): Param | undefined {
  const lower = fullName.toLowerCase();
  if (!lower.startsWith("raft.")) return undefined;
  const name = lower.slice("raft.".length);
  return Object.hasOwn(raftParams, name) ? raftParams[name] : undefined;
}

/** `raft.<name>` (any case) is one of RedisRaft's parameters we have. */
export function isRaftParam(fullName: string): boolean {
  return raftParamOf(fullName) !== undefined;
}

/** Set raft.<name>; returns an error text or null. */
export function configSet(
  config: Config,
  fullName: string,
  value: string,
  initialized: boolean,
): string | null {
  // Own names only: "raft.constructor" is not a parameter.
  const param = raftParamOf(fullName);
  if (!param) return "Unknown option or number of arguments";
  if (param.initOnly && initialized) return initOnlyMessage;
  const target = config as Record<string, unknown>;
  switch (param.kind) {
    case "ms":
    case "int": {
      if (!/^\d+$/.test(value) || (param.kind === "ms" && Number(value) === 0)) {
        return "argument couldn't be parsed into an integer";
      }
      if (param.minMs !== undefined && Number(value) < param.minMs) {
        return `argument must be at least ${param.minMs} (milliseconds)`;
      }
      return setNumber(target, param.key, Number(value));
    }
    case "bytes": {
      const bytes = parseMemory(value);
      if (bytes === null) return "argument must be a memory value";
      return setNumber(target, param.key, bytes);
    }
    case "bool":
    case "quorumReads": {
      const v = value.toLowerCase();
      if (v !== "yes" && v !== "no") return "argument must be 'yes' or 'no'";
      target[param.key] = param.kind === "bool"
        ? v === "yes"
        : (v === "yes" ? "linearizable" : "stale");
      return null;
    }
    case "loglevel":
      if (!["debug", "verbose", "notice", "warning"].includes(value)) {
        return "argument(s) must be one of the following: debug, verbose, notice, warning";
      }
      target[param.key] = value;
      return null;
    case "string":
      target[param.key] = value;
      return null;
  }
}

/** Set a number the command line would take too (the same bounds), or say why not. */
function setNumber(
  target: Record<string, unknown>,
  key: keyof Config,
  value: number,
): string | null {
  const checked = configSchema.shape[key].safeParse(value);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    // Integers all: "greater than 0" is "at least 1".
    if (issue.code === "too_small") {
      return `argument must be at least ${Number(issue.minimum) + (issue.inclusive ? 0 : 1)}`;
    }
    if (issue.code === "too_big") {
      // A value past 2^53 breaks the safe-integer bound as well as the setting's own.
      const maximums = checked.error.issues.flatMap((i) =>
        i.code === "too_big" ? [Number(i.maximum)] : []
      );
      return `argument must be at most ${Math.min(...maximums)}`;
    }
    return "argument is out of range";
  }
  const crossError = crossFieldError({ ...target, [key]: value } as Config);
  if (crossError) {
    return crossError.key === key
      ? `argument must be at most ${crossError.maximum}`
      : `argument would leave ${crossError.key} out of range: ${crossError.message}`;
  }
  target[key] = value;
  return null;
}

/** Redis's units for memory values: `k` is 1000 bytes, `kb` 1024, and so on. */
const memoryUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
};

/** A memory value as Redis reads one (`1048576`, `64mb`, `1KB`), or null. */
export function parseMemory(value: string): number | null {
  const match = /^(\d+)([a-z]*)$/i.exec(value);
  const unit = match ? memoryUnits[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) return null;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}
