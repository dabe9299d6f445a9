/**
 * @module
 * The commands the node answers itself, with RedisRaft's syntax and replies: RAFT.CLUSTER,
 * RAFT.NODE, RAFT.DEBUG, RAFT.TRANSFER_LEADER, RAFT.TIMEOUT_NOW, and the plain Redis commands
 * RedisRaft intercepts: INFO (raft sections, cluster_enabled:1, the node's clients), CONFIG
 * GET/SET raft.*, CLUSTER.
 */
import {
  encodeArrayHeader,
  encodeBulk,
  encodeError,
  encodeInteger,
  encodeMapHeader,
  encodeSimple,
  encodeStringPairs,
  encodeText,
} from "../server/replies.ts";
import type { ClientSession } from "../server/client_session.ts";
import { Errors } from "../server/errors.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import type { ClusterNode } from "./cluster_node.ts";
import { configGet, configSet, isRaftParam } from "./raft_config_params.ts";
import { infoRaft } from "./info_raft.ts";
import { commandSpec } from "./command_spec.ts";
import { clusterJoin, raftNode, timeoutNow, transferLeader } from "./membership_commands.ts";
import { concatBytes } from "../resp/bytes.ts";
import { decodeReply } from "../resp/mod.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";

export function handleAdminCommand(
  node: ClusterNode,
  _session: ClientSession,
  name: string,
  args: string[],
  slot: ReplySlot,
): void {
  const reply = (p: Promise<Uint8Array> | Uint8Array) =>
    Promise.resolve(p).then(
      (bytes) => slot.complete(bytes),
      (error) => slot.complete(encodeError(`ERR ${(error as Error).message}`)),
    );
  const protocol = slot.protocol;
  switch (name) {
    case "info":
      return void reply(info(node, args, slot));
    case "config":
      return void reply(config(node, args, slot));
    case "cluster":
      return void reply(cluster(node, args, protocol));
    case "raft.cluster":
      return void reply(raftCluster(node, args));
    case "raft.debug":
      return void reply(raftDebug(node, args, slot));
    case "raft.node":
      return void reply(raftNode(node, args));
    case "raft.transfer_leader":
      return void reply(transferLeader(node, args));
    case "raft.timeout_now":
      return void reply(timeoutNow(node, args));
    case "raft.nodeshutdown":
      return void reply(nodeShutdown(node, args));
    case "shutdown": {
      const refused = shutdown(node, args);
      // On success, no reply: the connection closes as the node stops (as from Redis).
      return refused ? void reply(refused) : undefined;
    }
    default:
      return void reply(encodeError(Errors.notSupported));
  }
}

function arity(name: string): Uint8Array {
  return encodeError(`ERR wrong number of arguments for '${name}' command`);
}

async function info(node: ClusterNode, args: string[], slot: ReplySlot): Promise<Uint8Array> {
  const protocol = slot.protocol;
  const sections = args.slice(1).map((s) => s.toLowerCase());
  if (sections.length > 0 && sections.every((s) => s.startsWith("raft"))) {
    return encodeText(infoRaft(node), protocol);
  }
  const raw = await node.childRequestRaw(["INFO", ...args.slice(1)], slot);
  if (raw[0] === 45 /* '-' */) return raw; // the child's error (LOADING, ...), as it said it
  const childInfo = nodeView(node, String(decodeReply(raw)));
  const all = sections.some((s) => s === "all" || s === "everything" || s.startsWith("raft"));
  return encodeText(all ? childInfo + "\r\n" + infoRaft(node) : childInfo, protocol);
}

/**
 * The child's INFO, with the fields clients see through the node: its port, pid, connections
 * and client tracking (the child's own are the node's internal links), its clock, uptime and
 * last snapshot time (the child's clock stays at the last applied entry's time), and
 * `cluster_enabled:1`.
 */
function nodeView(node: ClusterNode, childInfo: string): string {
  const tracking = node.trackingStats();
  const uptimeSec = Math.floor((performance.now() - node.stats.startedAtMs) / 1000);
  // The child's own are the node's internal links; clients' buffers are the node's.
  let inputBufferMaxBytes = 0;
  let outputBufferMaxBytes = 0;
  for (const session of node.clients.all()) {
    inputBufferMaxBytes = Math.max(inputBufferMaxBytes, session.queryBufferBytes);
    outputBufferMaxBytes = Math.max(outputBufferMaxBytes, session.replies.unsentBytes);
  }
  const fields: Record<string, string | number> = {
    server_time_usec: Date.now() * 1000,
    uptime_in_seconds: uptimeSec,
    uptime_in_days: Math.floor(uptimeSec / 86400),
    cluster_enabled: 1,
    tcp_port: node.config.addr.slice(node.config.addr.lastIndexOf(":") + 1),
    process_id: Deno.pid,
    connected_clients: node.clients.size,
    maxclients: node.config.clientsMaxCount,
    client_recent_max_input_buffer: inputBufferMaxBytes,
    client_recent_max_output_buffer: outputBufferMaxBytes,
    blocked_clients: node.blockedClientsCount,
    tracking_clients: tracking.clients,
    tracking_total_keys: tracking.keys,
    tracking_total_items: tracking.items,
    tracking_total_prefixes: tracking.prefixes,
    rdb_last_save_time: node.lastSaveTimeSec,
  };
  return childInfo.replace(
    new RegExp(`^(${Object.keys(fields).join("|")}):.*$`, "gm"),
    (_line, name: string) => `${name}:${fields[name]}`,
  );
}

async function config(node: ClusterNode, args: string[], slot: ReplySlot): Promise<Uint8Array> {
  const protocol = slot.protocol;
  if (args.length < 2) return arity("config");
  const sub = args[1].toLowerCase();
  if (sub === "get") {
    if (args.length < 3) return arity("config|get");
    const pairs: string[] = [];
    for (const pattern of args.slice(2)) {
      pairs.push(...configGet(node.config, pattern, node.identity?.nodeId ?? 0));
      if (!pattern.toLowerCase().startsWith("raft.")) {
        const raw = await node.childRequestRaw(["CONFIG", "GET", pattern], slot);
        if (raw[0] === 45 /* '-' */) return raw;
        const childPairs = decodeReply(raw) as string[];
        // The child has no password and serves only the node: clients see the node's own.
        for (let i = 0; i + 1 < childPairs.length; i += 2) {
          if (childPairs[i] === "requirepass") childPairs[i + 1] = node.requirepass;
          if (childPairs[i] === "maxclients") {
            childPairs[i + 1] = String(node.config.clientsMaxCount);
          }
        }
        pairs.push(...childPairs);
      }
    }
    return encodeStringPairs(pairs, protocol);
  }
  if (sub === "set") {
    if (args.length < 4) return arity("config|set");
    if (args.length % 2 !== 0) return encodeError("ERR syntax error");
    for (let i = 2; i < args.length; i += 2) {
      const name = args[i].toLowerCase();
      if (name.startsWith("raft.") || name === "requirepass") continue;
      // Redis's own parameters the node does not take; a name Redis does not know either
      // gets Redis's error, so that a typo is not taken for a parameter refused here.
      return encodeError(
        await childKnowsParam(node, name, slot) ? Errors.notSupported : unknownOption(args[i]),
      );
    }
    // All or nothing, as Redis does: the values go into a copy, applied once all are valid.
    const next = { ...node.config };
    const failed = (arg: string, why: string) =>
      encodeError(`ERR CONFIG SET failed (possibly related to argument '${arg}') - ${why}`);
    const seen = new Set<string>();
    for (let i = 2; i < args.length; i += 2) {
      const name = args[i].toLowerCase();
      if (seen.has(name)) return failed(args[i], "duplicate parameter");
      seen.add(name);
      if (name !== "requirepass" && !isRaftParam(name)) return encodeError(unknownOption(args[i]));
    }
    for (let i = 2; i < args.length; i += 2) {
      // This node's client password, as Redis's: new AUTHs need it, signed-in clients stay.
      if (args[i].toLowerCase() === "requirepass") {
        next.requirepass = args[i + 1];
        continue;
      }
      const error = configSet(next, args[i], args[i + 1], node.state !== "uninitialized");
      if (error) return failed(args[i], error);
    }
    const refused = node.applyRuntimeConfig(next);
    if (refused) return failed(args[2], refused);
    return encodeSimple("OK");
  }
  if (sub === "help") return await node.childRequestRaw(["CONFIG", "HELP"], slot);
  // The child's counters (INFO stats, commandstats, errorstats) on this node, as Redis's.
  if (sub === "resetstat") {
    if (args.length !== 2) return arity("config|resetstat");
    return await node.childRequestRaw(["CONFIG", "RESETSTAT"], slot);
  }
  if (sub === "rewrite") return encodeError(Errors.notSupported);
  return encodeError(
    `ERR unknown subcommand '${args[1].slice(0, 128)}'. Try CONFIG HELP.`,
  );
}

/** CLUSTER SLOTS/NODES/SHARDS emulated as RedisRaft does: one shard with every node. */
function cluster(node: ClusterNode, args: string[], protocol: RespProtocol): Uint8Array {
  if (args.length !== 2) return arity("cluster");
  const sub = args[1].toLowerCase();
  const members = [...node.membership.members].sort((a, b) =>
    (b.id === node.leaderId ? 1 : 0) - (a.id === node.leaderId ? 1 : 0)
  );
  const dbid = node.identity?.dbid ?? "";
  const nodeName = (id: number) => dbid + id.toString(16).padStart(8, "0");
  const hostPort = (addr: string) => {
    const colon = addr.lastIndexOf(":");
    return [addr.slice(0, colon), Number(addr.slice(colon + 1))] as const;
  };
  if (sub === "slots") {
    if (members.length === 0) return encodeArrayHeader(0);
    const parts = [
      encodeArrayHeader(1),
      encodeArrayHeader(2 + members.length),
      encodeInteger(0),
      encodeInteger(16383),
    ];
    for (const m of members) {
      const [host, port] = hostPort(m.addr);
      parts.push(
        encodeArrayHeader(3),
        encodeBulk(host),
        encodeInteger(port),
        encodeBulk(nodeName(m.id)),
      );
    }
    return concatBytes(parts);
  }
  if (sub === "nodes") {
    const lines = members.map((m) => {
      const [host, port] = hostPort(m.addr);
      const self = m.id === node.identity?.nodeId ? "myself," : "";
      const role = m.id === node.leaderId ? "master" : "slave";
      const master = m.id === node.leaderId ? "-" : nodeName(node.leaderId);
      const slots = m.id === node.leaderId ? " 0-16383" : "";
      return `${
        nodeName(m.id)
      } ${host}:${port}@${port} ${self}${role} ${master} 0 0 0 connected${slots}`;
    });
    return encodeText(lines.join("\n") + (lines.length ? "\n" : ""), protocol);
  }
  if (sub === "shards") {
    const parts = [encodeArrayHeader(members.length ? 1 : 0)];
    if (members.length) {
      parts.push(
        encodeMapHeader(2, protocol),
        encodeBulk("slots"),
        encodeArrayHeader(2),
        encodeInteger(0),
        encodeInteger(16383),
      );
      parts.push(encodeBulk("nodes"), encodeArrayHeader(members.length));
      for (const m of members) {
        const [host, port] = hostPort(m.addr);
        parts.push(
          encodeMapHeader(6, protocol),
          encodeBulk("id"),
          encodeBulk(nodeName(m.id)),
          encodeBulk("endpoint"),
          encodeBulk(host),
          encodeBulk("ip"),
          encodeBulk(host),
          encodeBulk("port"),
          encodeInteger(port),
          encodeBulk("role"),
          encodeBulk(m.id === node.leaderId ? "master" : "replica"),
          encodeBulk("health"),
          encodeBulk("online"),
        );
      }
    }
    return concatBytes(parts);
  }
  return encodeError("ERR Unknown subcommand.");
}

async function raftCluster(node: ClusterNode, args: string[]): Promise<Uint8Array> {
  if (args.length < 2) return arity("raft.cluster");
  if (node.state !== "uninitialized") {
    return encodeError(node.state === "loading" ? Errors.loading : Errors.alreadyMember);
  }
  const sub = args[1].toLowerCase();
  if (sub === "init") {
    if (args.length > 3) return arity("raft.cluster");
    const dbid = args[2];
    if (dbid !== undefined && dbid.length !== 32) return encodeError(Errors.clusterIdLength);
    const created = await node.clusterInit(dbid);
    return encodeSimple(`OK ${created}`);
  }
  if (sub === "join") {
    if (args.length < 3) return arity("raft.cluster");
    return clusterJoin(node, args.slice(2));
  }
  return encodeError(Errors.clusterSubcommand);
}

/** RAFT.NODESHUTDOWN <id> <dbid> [password]: the leader tells a removed node to leave. */
function nodeShutdown(node: ClusterNode, args: string[]): Uint8Array {
  if (args.length < 3 || args.length > 4) return arity("raft.nodeshutdown");
  if (node.clusterPassword && args[3] !== node.clusterPassword) {
    return encodeError("WRONGPASS invalid cluster password");
  }
  if (!node.nodeShutdownRequest(Number(args[1]), args[2])) {
    return encodeError("ERR invalid node id");
  }
  return encodeSimple("OK");
}

const shutdownOptions = new Set(["nosave", "save", "now", "force", "abort"]);

/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: stops this node (its redis child included), as
 * in RedisRaft, where it stops the redis-server that is the node. There is nothing to save (the
 * log is already durable) and no replica to wait for, so the options only need to be valid.
 * Returns the error reply, or null once the stop has begun.
 */
function shutdown(node: ClusterNode, args: string[]): Uint8Array | null {
  const options = args.slice(1).map((option) => option.toLowerCase());
  if (
    options.some((option) => !shutdownOptions.has(option)) ||
    (options.includes("save") && options.includes("nosave")) ||
    (options.includes("abort") && options.length > 1)
  ) {
    return encodeError("ERR syntax error");
  }
  if (options.includes("abort")) return encodeError("ERR No shutdown in progress.");
  if (!node.shutdownProcess) return encodeError(Errors.notSupported);
  node.log.warning("User requested shutdown...");
  node.shutdownProcess("SHUTDOWN");
  return null;
}

async function raftDebug(
  node: ClusterNode,
  args: string[],
  slot: ReplySlot,
): Promise<Uint8Array> {
  if (args.length < 2) return arity("raft.debug");
  const sub = args[1].toLowerCase();
  if (sub === "digest") {
    const [index, digest] = await node.stateDigest();
    return concatBytes([encodeArrayHeader(2), encodeInteger(index), encodeBulk(digest)]);
  }
  if (sub === "compact") {
    if (!node.raft) return encodeError(Errors.noCluster);
    await node.compactNow();
    return encodeSimple("OK");
  }
  if (sub === "exec") {
    if (args.length < 3) return arity("raft.debug");
    return node.childRequestRaw(args.slice(2), slot);
  }
  if (sub === "commandspec") {
    if (args.length !== 3) return arity("raft.debug");
    const flags = commandSpec(node.commands, args[2]);
    return flags === null ? encodeError("ERR unknown command") : encodeInteger(flags);
  }
  if (sub === "used_node_ids") {
    const ids = node.membership.usedNodeIds;
    return concatBytes([encodeArrayHeader(ids.length), ...ids.map((id) => encodeInteger(id))]);
  }
  return encodeError(Errors.debugSubcommand);
}

/**
 * Whether the child (Redis) has a parameter of this name or alias. CONFIG GET takes a pattern,
 * so a name with a pattern's characters (never a parameter's) is not asked about.
 */
async function childKnowsParam(
  node: ClusterNode,
  name: string,
  slot: ReplySlot,
): Promise<boolean> {
  if (/[*?[\\]/.test(name)) return false;
  const raw = await node.childRequestRaw(["CONFIG", "GET", name], slot);
  if (raw[0] === 45 /* '-' */) return true; // no answer (a child restarting): say "not supported"
  const reply = decodeReply(raw);
  return Array.isArray(reply) && reply.length > 0;
}

/** Redis's CONFIG SET error for a parameter name it does not know. */
function unknownOption(name: string): string {
  return `ERR Unknown option or number of arguments for CONFIG SET - '${name.slice(0, 128)}'`;
}
