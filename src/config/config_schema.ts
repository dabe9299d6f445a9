/**
 * @module
 * The single source of truth for every configuration value of a node: its name, type, default
 * and unit. CLI flags (see `cli_flags.ts`) are the kebab-case form of these names; `CONFIG GET
 * raft.<name>` maps RedisRaft's parameter names onto them (see `raft_config_names.ts`).
 */
import { resolve } from "node:path";
import { z } from "zod";
import { peerProgressAckIntervalMs } from "../server/peer_progress_ack.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

/** `host:port` with a port in 1..65535. */
export const hostPortSchema = z.string().regex(
  /^[^\s:]+:\d{1,5}$/,
  "must be host:port, e.g. 127.0.0.1:5001",
).refine((value) => {
  const port = Number(value.slice(value.lastIndexOf(":") + 1));
  return port >= 1 && port <= 65535;
}, "port must be 1..65535");

/** The least peer response timeout: well above how often peers acknowledge what arrives. */
export const peerResponseTimeoutMinMs = 3 * peerProgressAckIntervalMs;

const positiveInt = () => z.coerce.number().int().positive();
/**
 * The longest a timer can wait: JavaScript's timers take a signed 32-bit delay and fire at once
 * beyond it (Redis's and RedisRaft's millisecond settings stop at INT_MAX too).
 */
export const durationMaxMs = 2 ** 31 - 1;
/** A duration in milliseconds, at least 1. */
const durationMs = () => positiveInt().max(durationMaxMs);
/** A duration in milliseconds where 0 turns the check off. */
const durationOrOffMs = () => z.coerce.number().int().min(0).max(durationMaxMs);
const yesNo = () =>
  z.union([z.boolean(), z.enum(["yes", "no", "true", "false"])]).transform((value) =>
    value === true || value === "yes" || value === "true"
  );

export const logLevels = ["debug", "verbose", "notice", "warning"] as const;
export type LogLevel = typeof logLevels[number];

export const readModes = ["linearizable", "lease", "stale"] as const;

export const crashPoints = [
  "snapshot-after-bgsave",
  "snapshot-after-publish",
  "snapshot-after-compact",
  "install-after-publish",
  "install-after-child-restart",
  "install-after-log-reset",
  "apply-before-log-write",
] as const;
export type CrashPoint = typeof crashPoints[number];
export type ReadMode = typeof readModes[number];

export const configSchema = z.object({
  /** Address this node listens on for clients and peers, and advertises to peers. */
  addr: hostPortSchema,
  /** Data directory (log, hard state, snapshots, the redis child's socket). Default ./data/<port>. */
  dir: z.string().min(1).optional(),
  /** Path of the redis-server binary started as the managed child. */
  redisServer: z.string().min(1).default("redis-server"),
  /**
   * The child's clock library (native/raftclock.c, built by `make`): each entry runs at the time
   * the leader gave it, on every node and in every replay. Empty, or a missing file: the child
   * keeps the real clock (expiry then depends on when each node applies).
   */
  childClockLib: z.string().default(
    new URL("../../.tools/raftclock.so", import.meta.url).pathname,
  ),
  /** A leader with keys that have deadlines proposes its time alone after this long idle. */
  childClockTickMs: durationMs().default(100),
  logLevel: z.enum(logLevels).default("notice"),
  /** Node id to use on init/join (RedisRaft's raft.id); 0 picks a random unused id. */
  nodeId: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(0),

  /** Read consistency: linearizable (ReadIndex), lease (leader lease), stale (local state). */
  readMode: z.enum(readModes).default("linearizable"),
  /** Linearizable reads: heartbeat rounds in flight at once; later reads share the next round. */
  readRoundsInFlightMaxCount: positiveInt().default(4),
  /** Followers forward commands to the leader instead of replying -MOVED. */
  followerProxy: yesNo().default(false),
  /** Password peers must present (RedisRaft's cluster-password). Empty: `requirepass`. */
  clusterPassword: z.string().default(""),
  /** Password clients must give with AUTH or HELLO, as Redis's requirepass. Empty: none. */
  requirepass: z.string().default(""),
  /** fdatasync the log before acknowledging (RedisRaft's log-fsync). */
  logFsync: yesNo().default(true),

  /** Raft timer granularity. */
  tickIntervalMs: durationMs().default(20),
  /** Base election timeout (randomised up to twice this). RedisRaft's election-timeout. */
  electionTimeoutMs: durationMs().default(1000),
  /** Leader heartbeat / AppendEntries retransmit interval. RedisRaft's request-timeout. */
  heartbeatIntervalMs: durationMs().default(100),
  /** A client request that waits longer than this gets -TIMEOUT (the outcome is unknown). */
  requestTimeoutMs: durationMs().default(10_000),
  /** How long RAFT.CLUSTER JOIN keeps trying. */
  joinTimeoutMs: durationMs().default(120_000),
  /** Follower proxy: how long to wait for the leader's reply. */
  proxyResponseTimeoutMs: durationMs().default(10_000),

  /** Largest bulk string a client may send (Redis's proto-max-bulk-len). */
  protoMaxBulkLenBytes: positiveInt().default(512 * MIB),
  /**
   * Largest log entry: a write or transaction whose entry would be larger is refused before it
   * enters the log. A node's event loop is busy with an entry for about a second per 30 MB
   * (copies, checksum, disk), and with a 1 s election timeout entries of 30 MB already set off
   * elections now and then.
   */
  entryMaxBytes: positiveInt().default(16 * MIB),
  /** Largest multibulk element count a client may send. */
  multibulkMaxCount: positiveInt().default(1024 * 1024),
  /** Largest inline command (Redis's PROTO_INLINE_MAX_SIZE). */
  inlineMaxBytes: positiveInt().default(64 * KIB),
  /**
   * Largest reply of the redis child the node relays: it holds each reply whole before passing
   * it on, and answers a larger one with `-ERR reply too large` (Redis has no such limit).
   */
  replyMaxBytes: positiveInt().default(1024 * MIB),
  /** Largest unparsed input held for one client (Redis's client-query-buffer-limit). */
  queryBufferMaxBytes: positiveInt().default(1024 * MIB),
  /** A client whose unsent replies exceed this is not read from until they drain. */
  clientReplyBufferMaxBytes: positiveInt().default(64 * MIB),
  /** A client with this many pipelined requests in flight is not read from until some finish. */
  clientPipelineMaxCount: positiveInt().default(1024),
  /** Most clients connected at once (Redis's maxclients). */
  clientsMaxCount: positiveInt().default(10_000),
  /**
   * Open files kept for the node's own use beyond its clients' connections (log segments,
   * snapshots, peers, its redis child): at start the node raises its open-files limit to
   * --clients-max-count plus this, or serves fewer clients where it cannot.
   */
  openFilesReservedCount: positiveInt().default(64),
  /** Log segment file size at which a new segment starts. */
  logSegmentMaxBytes: positiveInt().default(64 * MIB),
  /** Zeros written ahead of the log's records at a time (fdatasync then has no size to persist). */
  logPreallocateBytes: z.coerce.number().int().min(0).default(1 * MIB),
  /**
   * Bytes of log entries since the last snapshot at which a new snapshot compacts them
   * (RedisRaft's log-max-file-size). 0: never (the log grows without bound).
   */
  logMaxBytes: z.coerce.number().int().min(0).default(128 * 1000 * 1000),
  /** AppendEntries messages in flight per follower (RedisRaft's append-req-max-count). */
  appendReqMaxCount: positiveInt().default(2),
  /** Payload bytes per AppendEntries message (RedisRaft's append-req-max-size). */
  appendReqMaxBytes: positiveInt().default(2 * MIB),
  /**
   * How far below --log-max-bytes a node may start its snapshot, in percent of it: each snapshot
   * starts at a point drawn at random in that range, so that the nodes do not all compact at
   * once. 0: exactly at the limit, on every node (RedisRaft's behaviour).
   */
  snapshotSpreadPercent: z.coerce.number().int().min(0).max(90).default(25),
  /** Entries applied since the last snapshot before the log size may trigger another. */
  snapshotMinEntries: positiveInt().default(16),
  /** Longest a snapshot (the child's RDB write) may take before the node gives up loudly. */
  snapshotTimeoutMs: durationMs().default(600_000),
  /** Largest snapshot accepted from a leader (disk used while receiving). */
  snapshotReceiveMaxBytes: positiveInt().default(64 * 1024 * MIB),
  /** Snapshot chunk size (RedisRaft's snapshot-req-max-size). */
  snapshotReqMaxBytes: positiveInt().default(64 * KIB),
  /** Snapshot chunks in flight per follower (RedisRaft's snapshot-req-max-count). */
  snapshotReqMaxCount: positiveInt().default(32),
  /** Bytes of messages queued for one peer; beyond this new messages are dropped (Raft resends). */
  peerQueueMaxBytes: positiveInt().default(64 * MIB),
  /** Peer connect timeout (RedisRaft's connection-timeout). */
  peerConnectTimeoutMs: durationMs().default(3000),
  /**
   * A peer connection on which the peer has acknowledged nothing sent for this long is dropped
   * and opened anew (RedisRaft's response-timeout). Peers acknowledge at least every 100 ms
   * while bytes arrive, however slowly.
   */
  peerResponseTimeoutMs: durationMs().min(peerResponseTimeoutMinMs).default(1000),
  /** First and largest delay between peer reconnect attempts (jittered, doubling). */
  peerReconnectMinMs: durationMs().default(100),
  peerReconnectMaxMs: durationMs().default(2000),
  /** Most entries accepted in one AppendEntries from a peer. */
  peerEntriesMaxCount: positiveInt().default(65_536),
  /** One-command writes proposed together go in one log entry up to this many bytes (0: off). */
  writeBatchMaxBytes: z.coerce.number().int().min(0).default(256 * KIB),
  /** Applied writes remembered to decide WATCH; a watch older than this aborts its EXEC. */
  watchHistoryMaxEntries: positiveInt().default(100_000),
  /** The same history's bound in payload bytes (large writes leave it sooner). */
  watchHistoryMaxBytes: positiveInt().default(16 * MIB),
  /** Keys remembered for CLIENT TRACKING's default mode (Redis's tracking-table-max-keys). */
  trackingTableMaxKeys: positiveInt().default(1_000_000),
  /** Wait before reopening the child's invalidation stream after it ended (a child restart). */
  trackingReopenDelayMs: durationMs().default(100),
  /**
   * Loop iterations and function calls one script run may take before it fails (the same on
   * every node: a timer could not stop a script at the same point everywhere).
   */
  scriptStepsMaxCount: positiveInt().default(100_000_000),
  /**
   * Bytes of entries a follower has handed to its child that the child has not read yet. Beyond
   * this it takes no new entries from the leader until the child catches up: a slow or stopped
   * child would otherwise grow the node's memory, and its log, without bound. A leader refuses
   * new writes meanwhile.
   */
  applyQueueMaxBytes: positiveInt().default(64 * MIB),
  /**
   * A leader whose child has answered nothing while commands wait (stopped, or stuck), or stayed
   * more than --apply-queue-max-bytes behind, for this long hands leadership to another node:
   * the others can serve while it cannot. Above the longest command expected (a script's step
   * budget is about two seconds).
   */
  childStallTimeoutMs: durationMs().default(5_000),
  /**
   * A leader whose own log syncs take longer than this, several in a row, while another voter
   * had persisted the same entries first, hands leadership to that voter (a slow disk on the
   * leader slows every write; on a follower, none). A healthy disk here syncs in about a
   * millisecond; under a loaded chaos run (three nodes with the power-cut journal on two cores)
   * syncs of 50-120 ms came in threes now and then. 0: never.
   */
  logSyncSlowMs: durationOrOffMs().default(100),
  /**
   * A leader whose newest heartbeat round answered by a quorum stays older than a heartbeat
   * interval plus this for three heartbeat intervals on end hands leadership over (see
   * SlowQuorumRounds): its own link is most likely the slow one (congested, lossy), and a slow
   * link on the leader slows every write (on a follower, none). On a healthy link that age stays
   * under a heartbeat interval plus a round trip: at most 80 ms here (heartbeats every 100) under
   * `redis-benchmark` SET and GET at 36-290k requests a second, with peaks of 200 ms for 100 KB
   * values and 260 ms for 1 MB ones. 0: never.
   */
  linkSlowMs: durationOrOffMs().default(200),
  /** Scripts remembered for EVALSHA (Redis keeps every script; we bound the count). */
  scriptsMaxCount: positiveInt().default(10_000),
  /**
   * Their bytes together: each node holds them in memory and writes them whole into every
   * snapshot (a trailer that must fit in one JavaScript string).
   */
  scriptsMaxBytes: positiveInt().default(64 * MIB),
  /**
   * Test only: exit abruptly (as kill -9 would) at this named point of taking or installing a
   * snapshot, to prove recovery from a crash there. Empty: never.
   */
  crashAt: z.enum(["", ...crashPoints]).default(""),
  /** How long the node waits for the redis child to start answering. */
  childStartTimeoutMs: durationMs().default(10_000),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { dir: string };

/** Room in a peer message (a bulk string, at most proto-max-bulk-len) besides its entry. */
export const peerMessageHeadroomBytes = 64 * KIB;

/** A value the schema accepts alone but not beside another: which, and why. */
export interface CrossFieldError {
  key: keyof ConfigInput;
  message: string;
  /** The largest value the others allow for it. */
  maximum: number;
}

/** The first value that does not fit beside the others, or undefined. */
export function crossFieldError(
  config: z.output<typeof configSchema>,
): CrossFieldError | undefined {
  // A log entry or a snapshot chunk travels as one bulk string, beside a peer message's header.
  const roomBytes = config.protoMaxBulkLenBytes - peerMessageHeadroomBytes;
  for (const key of ["entryMaxBytes", "snapshotReqMaxBytes"] as const) {
    if (config[key] <= roomBytes) continue;
    return {
      key,
      maximum: roomBytes,
      message: `must leave ${peerMessageHeadroomBytes} bytes below --proto-max-bulk-len-bytes ` +
        `(${config.protoMaxBulkLenBytes}) for a peer message's header`,
    };
  }
  if (config.writeBatchMaxBytes > config.entryMaxBytes) {
    return {
      key: "writeBatchMaxBytes",
      maximum: config.entryMaxBytes,
      message: `must not exceed --entry-max-bytes (${config.entryMaxBytes})`,
    };
  }
  // An AppendEntries message must fit in one bulk string at the follower, headers of up to
  // thousands of entries included; beyond, the follower refuses it and the leader resends it
  // for ever.
  const appendMaxBytes = Math.floor(config.protoMaxBulkLenBytes / 2);
  if (config.appendReqMaxBytes > appendMaxBytes) {
    return {
      key: "appendReqMaxBytes",
      maximum: appendMaxBytes,
      message: `must not exceed half of --proto-max-bulk-len-bytes (${appendMaxBytes})`,
    };
  }
  return undefined;
}

/** Parse and validate raw values; fill the port-derived default of `dir`. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const parsed = configSchema.parse(raw);
  const error = crossFieldError(parsed);
  if (error) {
    // The flag's error, as zod's.
    throw new z.ZodError([{
      code: "custom",
      path: [error.key],
      message: error.message,
      input: raw[error.key],
    }]);
  }
  const port = parsed.addr.slice(parsed.addr.lastIndexOf(":") + 1);
  // Absolute: the redis child resolves its socket path after changing into its own directory.
  return { ...parsed, dir: resolve(parsed.dir ?? `./data/${port}`) };
}
