/**
 * @module
 * The `INFO raft` text, with RedisRaft's sections and field names (see the reference).
 */
import type { ClusterNode } from "./cluster_node.ts";

export const raftVersion = "0.1.0";

/** Whole seconds since `atMs` (a performance.now() reading), or -1 for 0: never. */
function secondsSince(atMs: number): number {
  return atMs ? Math.floor((performance.now() - atMs) / 1000) : -1;
}

export function infoRaft(node: ClusterNode): string {
  const status = node.raft?.status();
  const storage = node.storage;
  const snapshot = node.identity ? node.snapshots.current() : undefined;
  const snapStats = node.snapshots.stats;
  const me = node.identity;
  const members = node.membership.members;
  const self = members.find((m) => m.id === me?.nodeId);
  const lines: string[] = [
    "# raft_version",
    `raft_version:${raftVersion}`,
    "raft_git_sha1:00000000",
    "",
    "# raft_general",
    `raft_dbid:${me?.dbid ?? ""}`,
    `raft_node_id:${me?.nodeId ?? node.config.nodeId}`,
    `raft_state:${node.state}`,
    `raft_role:${status ? node.role : "(none)"}`,
    `raft_is_voting:${status ? (self?.voter ? "yes" : "no") : "-"}`,
    `raft_voted_for:${status?.vote || -1}`,
    `raft_leader_id:${node.leaderId || -1}`,
    `raft_current_term:${status?.term ?? 0}`,
    `raft_num_nodes:${members.length}`,
    `raft_num_voting_nodes:${members.filter((m) => m.voter).length}`,
  ];
  let i = 1;
  for (const member of members) {
    if (member.id === me?.nodeId) continue;
    const colon = member.addr.lastIndexOf(":");
    const link = node.peers?.links.get(member.id);
    const lastConnSecs = secondsSince(link?.lastConnectedAtMs ?? 0);
    lines.push(
      `raft_node${i++}:id=${member.id},state=${link?.state ?? "disconnected"},` +
        `voting=${member.voter ? "yes" : "no"},` +
        `addr=${member.addr.slice(0, colon)},port=${member.addr.slice(colon + 1)},` +
        `last_conn_secs=${lastConnSecs},conn_errors=${link?.connErrors ?? 0},` +
        `conn_oks=${link?.connOks ?? 0}`,
    );
  }
  const firstIndex = status?.firstIndex ?? 1;
  const lastIndex = status?.lastIndex ?? 0;
  lines.push(
    "",
    "# raft_log",
    `raft_log_entries:${Math.max(0, lastIndex - firstIndex + 1)}`,
    `raft_current_index:${lastIndex}`,
    `raft_commit_index:${status?.commitIndex ?? 0}`,
    `raft_last_applied_index:${node.appliedIndex}`,
    `raft_file_size:${storage?.sizeBytes ?? 0}`,
    // Every entry since the snapshot is held in memory (RedisRaft caches some of them).
    `raft_cache_memory_size:${status?.heldEntriesBytes ?? 0}`,
    `raft_cache_entries:${Math.max(0, lastIndex - firstIndex + 1)}`,
    `raft_client_attached_entries:${node.pendingWriteCount}`,
    `raft_fsync_count:${storage?.syncCount ?? 0}`,
    `raft_fsync_max_microseconds:${storage?.syncMaxMicros ?? 0}`,
    `raft_fsync_avg_microseconds:${storage?.syncAvgMicros ?? 0}`,
    "",
    "# raft_snapshot",
    `raft_snapshot_filename:${
      snapshot?.rdbPath.slice(snapshot.rdbPath.lastIndexOf("/") + 1) ?? ""
    }`,
    `raft_snapshot_last_idx:${snapshot?.meta.index ?? 0}`,
    `raft_snapshot_last_term:${snapshot?.meta.term ?? 0}`,
    `raft_snapshot_size:${snapshot?.meta.sizeBytes ?? 0}`,
    `raft_snapshot_time_secs:${secondsSince(snapStats.lastTakenAtMs)}`,
    `raft_snapshots_created:${snapStats.created}`,
    `raft_snapshots_received:${snapStats.received}`,
    `raft_snapshot_in_progress:${node.snapshots.inProgress ? "yes" : "no"}`,
    `raft_snapshot_in_progress_last_idx:${snapStats.inProgressIndex}`,
    `raft_snapshot_in_progress_last_term:${snapStats.inProgressTerm}`,
    "",
    "# raft_clients",
    `raft_proxy_reqs:${node.leaderProxy.stats.requests}`,
    `raft_proxy_failed_reqs:${node.leaderProxy.stats.failedRequests}`,
    `raft_proxy_failed_responses:${node.leaderProxy.stats.failedResponses}`,
    `raft_proxy_outstanding_reqs:${node.leaderProxy.outstanding}`,
    "",
    "# raft_stats",
    `raft_appendreq_received:${node.counters.appendReqReceived}`,
    `raft_appendreq_with_entry_received:${node.counters.appendReqWithEntryReceived}`,
    `raft_snapshotreq_received:${node.counters.snapshotReqReceived}`,
    "raft_exec_throttled:0",
    // RedisRaft's sessions are its WATCHing clients.
    `raft_num_sessions:${watchingClientCount(node)}`,
  );
  return lines.join("\r\n") + "\r\n";
}

/** Client connections with a WATCH in force. */
function watchingClientCount(node: ClusterNode): number {
  let count = 0;
  for (const session of node.clients.all()) if (session.state.watch !== undefined) count++;
  return count;
}
