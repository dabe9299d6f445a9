/**
 * @module
 * RAFT.CLUSTER JOIN, RAFT.NODE ADD/REMOVE, RAFT.TRANSFER_LEADER and RAFT.TIMEOUT_NOW, with
 * RedisRaft's syntax and replies. Each replies only once its effect is applied (or failed).
 */
import { RaftError } from "../raft/mod.ts";
import { adminRequest } from "../peer/admin_client.ts";
import { ReplyError } from "../resp/mod.ts";
import { hostPortSchema } from "../config/config_schema.ts";
import { Errors } from "../server/errors.ts";
import { encodeArrayHeader, encodeError, encodeInteger, encodeSimple } from "../server/replies.ts";
import type { ClusterNode } from "./cluster_node.ts";
import { raftErrorReply } from "./raft_error_reply.ts";
import { randomNodeId } from "./node_identity.ts";
import { concatBytes } from "../resp/bytes.ts";

function arity(name: string): Uint8Array {
  return encodeError(`ERR wrong number of arguments for '${name}' command`);
}

/** A node id as RedisRaft reads one (string2ll: no sign, no leading zero), or null. */
function parseNodeId(text: string): number | null {
  if (!/^(0|[1-9]\d{0,9})$/.test(text)) return null;
  const id = Number(text);
  return id <= 0x7fffffff ? id : null;
}

const validAddr = (addr: string) => hostPortSchema.safeParse(addr).success;

export async function raftNode(node: ClusterNode, args: string[]): Promise<Uint8Array> {
  if (args.length < 2) return arity("raft.node");
  const sub = args[1].toLowerCase();
  if (sub !== "add" && sub !== "remove") return encodeError(Errors.nodeSubcommand);
  if ((sub === "add" && args.length !== 4) || (sub === "remove" && args.length !== 3)) {
    return arity("raft.node");
  }
  const stateError = node.dataCommandError();
  if (stateError) return encodeError(stateError);
  const raft = node.raft!;
  let id = parseNodeId(args[2]);
  if (id === null) return encodeError("ERR invalid node id");
  const timeoutMs = node.config.requestTimeoutMs;
  if (sub === "add") {
    const addr = args[3];
    if (!validAddr(addr)) return encodeError("ERR invalid node address");
    const used = new Set(node.membership.usedNodeIds);
    if (id === 0) id = randomNodeId(used);
    else if (used.has(id)) return encodeError("ERR node id has already been used in this cluster");
    node.peers?.learnAddr(id, addr);
    const position = raft.addNode(id, addr);
    node.schedule();
    if (position instanceof RaftError) return encodeError(raftErrorReply(position));
    if (!await node.applied.wait(position.index, position.term, timeoutMs)) {
      return encodeError(Errors.notCommitted);
    }
    return concatBytes([
      encodeArrayHeader(2),
      encodeInteger(id),
      encodeSimple(node.identity!.dbid),
    ]);
  }
  if (!node.membership.members.some((m) => m.id === id)) {
    return encodeError("ERR node id does not exist");
  }
  const position = raft.removeNode(id);
  node.schedule();
  if (position instanceof RaftError) return encodeError(raftErrorReply(position));
  if (!await node.applied.wait(position.index, position.term, timeoutMs)) {
    return encodeError(Errors.notCommitted);
  }
  return encodeSimple("OK");
}

export async function transferLeader(node: ClusterNode, args: string[]): Promise<Uint8Array> {
  if (args.length > 2) return arity("raft.transfer_leader");
  if (!node.raft) return encodeError(Errors.noCluster);
  if (node.role !== "leader") return encodeError("ERR not leader");
  let target: number | undefined;
  if (args.length === 2) {
    const id = parseNodeId(args[1]);
    if (id === null || id === 0) return encodeError("ERR invalid target node id");
    if (!node.membership.members.some((m) => m.id === id && m.voter)) {
      return encodeError("ERR invalid node id");
    }
    target = id;
  }
  const error = node.raft.transferLeader(target);
  node.schedule();
  if (error) return encodeError(raftErrorReply(error));
  const deadline = performance.now() + 2 * node.config.electionTimeoutMs + 500;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (node.role !== "leader" && node.leaderId !== 0) {
      return target === undefined || node.leaderId === target
        ? encodeSimple("OK")
        : encodeError("ERR different node elected leader");
    }
  }
  return encodeError("ERR transfer timed out");
}

export function timeoutNow(node: ClusterNode, args: string[]): Uint8Array {
  if (args.length !== 1) return arity("raft.timeout_now");
  if (!node.raft) return encodeError(Errors.noCluster);
  const error = node.raft.campaign();
  node.schedule();
  return error
    ? encodeError(`ERR failed to start an election: ${error.message}`)
    : encodeSimple("OK");
}

/**
 * Refusals that leave nothing in the log and pass by themselves: no leader yet, an outcome not
 * known yet, another membership change or a leader transfer still going on, too much uncommitted.
 */
const retryableJoinRefusal =
  /^(CLUSTERDOWN|TIMEOUT|TRYAGAIN|ERR one voting change only|ERR leader transfer is in progress|ERR try again)/;

/** The cluster's dbid if `addr`'s INFO raft lists node `nodeId` at `selfAddr`, else null. */
async function memberDbid(
  addr: string,
  nodeId: number,
  selfAddr: string,
  timeoutMs: number,
  password: string,
): Promise<string | null> {
  try {
    const info = await adminRequest(addr, ["INFO", "raft"], timeoutMs, password);
    const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : String(info);
    const colon = selfAddr.lastIndexOf(":");
    const host = selfAddr.slice(0, colon).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const self = `id=${nodeId},.*addr=${host},port=${selfAddr.slice(colon + 1)},`;
    if (!new RegExp(`^raft_node\\d+:${self}`, "m").test(text)) return null;
    return /^raft_dbid:([0-9a-f]{32})/m.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** RAFT.CLUSTER JOIN addr...: ask members to add us (following MOVED), then start as a member. */
export async function clusterJoin(node: ClusterNode, addrs: string[]): Promise<Uint8Array> {
  for (const addr of addrs) if (!validAddr(addr)) return encodeError("ERR invalid node address");
  node.state = "joining";
  const deadline = performance.now() + node.config.joinTimeoutMs;
  const nodeId = node.config.nodeId || randomNodeId();
  const candidates = [...addrs];
  let attempt = 0;
  // An earlier attempt whose outcome we never learned may have added us already.
  let outcomeUnknown = false;
  const requestTimeoutMs = () =>
    Math.min(node.config.requestTimeoutMs, Math.max(1, deadline - performance.now()));
  try {
    while (performance.now() < deadline) {
      const addr = candidates[attempt++ % candidates.length];
      let reply;
      try {
        reply = await adminRequest(
          addr,
          ["RAFT.NODE", "ADD", String(nodeId), node.config.addr],
          requestTimeoutMs(),
          node.config.requirepass,
        );
      } catch (error) {
        outcomeUnknown = true;
        node.log.verbose(`join via ${addr}: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (
        outcomeUnknown && reply instanceof ReplyError && reply.message.includes("already been used")
      ) {
        const dbid = await memberDbid(
          addr,
          nodeId,
          node.config.addr,
          requestTimeoutMs(),
          node.config.requirepass,
        );
        if (dbid) {
          node.log.notice(`join via ${addr}: an earlier attempt had added this node already`);
          reply = [nodeId, dbid];
        }
      }
      if (Array.isArray(reply) && reply.length === 2) {
        const [id, dbid] = reply;
        await node.joinCluster({ nodeId: Number(id), dbid: String(dbid), addr: node.config.addr });
        node.log.notice(`joined cluster ${dbid} as node ${id} via ${addr}`);
        return encodeSimple("OK");
      }
      if (reply instanceof ReplyError) {
        const moved = /^MOVED \d+ (\S+)$/.exec(reply.message);
        if (moved) {
          if (!candidates.includes(moved[1])) candidates.push(moved[1]);
          attempt = candidates.indexOf(moved[1]);
          continue;
        }
        node.log.warning(`RAFT.NODE ADD via ${addr} failed: ${reply.message}`);
        if (reply.message.startsWith("TIMEOUT")) outcomeUnknown = true;
        if (!retryableJoinRefusal.test(reply.message)) {
          // This address cannot add us (not in a cluster, removed, ...): the others may.
          candidates.splice(candidates.indexOf(addr), 1);
          if (candidates.length === 0) break;
          continue;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (node.state === "joining") node.state = "uninitialized";
  }
  return encodeError("ERR failed to connect to cluster for join, please check logs");
}
