/**
 * @module
 * Literal error replies, as RedisRaft and Redis spell them (see the reference). One place, so
 * tests and code agree on every byte.
 */
export const Errors = {
  noCluster: "NOCLUSTER No Raft Cluster",
  joining: "NOCLUSTER No Raft Cluster (joining now)",
  loading: "LOADING Raft module is loading data",
  alreadyMember: "ERR Already cluster member",
  noLeader: "CLUSTERDOWN No raft leader",
  readNoQuorum: "TIMEOUT no quorum for read",
  notCommitted: "TIMEOUT not committed yet",
  requestTimeout: "TIMEOUT request timed out; the outcome is unknown",
  notSupported: "ERR not supported by RedisRaft",
  monitorKeyspace: "ERR Replica can't interact with the keyspace",
  monitorInMulti: "ERR MONITOR isn't allowed for DENY BLOCKING client",
  maxClients: "ERR max number of clients reached",
  entryTooLarge: "ERR write exceeds the maximum log entry size (entry-max-bytes)",
  transactionTooLarge: "ERR transaction exceeds the maximum log entry size (entry-max-bytes)",
  xreadBlock: "ERR XREAD BLOCK is not supported by RedisRaft: poll with XREAD without BLOCK",
  noChildClock:
    "ERR consumer group deliveries need the child's clock library (--child-clock-lib): without it each node would stamp its own time",
  xreadgroupBlock:
    "ERR XREADGROUP BLOCK is not supported by RedisRaft: poll with XREADGROUP without BLOCK",
  clusterIdLength: "ERR cluster id must be 32 characters",
  clusterSubcommand: "RAFT.CLUSTER supports INIT / JOIN only",
  nodeSubcommand: "ERR RAFT.NODE supports ADD / REMOVE only",
  debugSubcommand: "ERR invalid debug subcommand",
  execWithoutMulti: "ERR EXEC without MULTI",
  discardWithoutMulti: "ERR DISCARD without MULTI",
  nestedMulti: "ERR MULTI calls can not be nested",
  watchInsideMulti: "ERR WATCH inside MULTI is not allowed",
  execAbort: "EXECABORT Transaction discarded because of previous errors.",
  dbIndexOutOfRange: "ERR DB index is out of range",
  shuttingDown: "ERR shutdown",
  /** Pending writes when the node stops or leaves: they may still commit elsewhere. */
  writeOutcomeUnknownShutdown: "TIMEOUT the node is shutting down; the outcome is unknown",
  writeOutcomeUnknownRemoved: "TIMEOUT the node left the cluster; the outcome is unknown",
  /** A proposal refused before it entered the log: safe to retry. */
  transferInProgress: "TRYAGAIN leader transfer in progress",
  uncommittedLimit: "TRYAGAIN too many uncommitted entries",
  childBehind: "TRYAGAIN this node's redis is behind (apply-queue-max-bytes)",
  removed: "ERR this node was removed from the cluster",
  childDown: "LOADING Raft module is loading data",
  noScript: "NOSCRIPT No matching script. Please use EVAL.",
  /** Refused by a follower with `--follower-proxy`: the client should talk to the leader. */
  watchThroughProxy: "ERR WATCH is not supported through the follower proxy; connect to the leader",
  waitThroughProxy: "ERR WAIT is not supported through the follower proxy; connect to the leader",
  blockingThroughProxy:
    "ERR blocking commands are not supported through the follower proxy; connect to the leader",
} as const;
