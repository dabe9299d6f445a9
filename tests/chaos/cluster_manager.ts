/**
 * @module
 * A cluster of real nodes for a chaos run: starts them in their network slots, forms the cluster
 * (RAFT.CLUSTER INIT / JOIN), answers who is leader, removes and adds members, heals every
 * fault and always stops every process it started (`destroy`, safe to call more than once).
 */
import { ChaosNode } from "./chaos_node.ts";
import type { Network } from "./network.ts";
import { callOnce, type Reply, RespError } from "./resp_connection.ts";
import type { DigestSample } from "./checker/convergence.ts";
import { setClockRate } from "../helpers/clock_rate.ts";

export interface ClusterOptions {
  network: Network;
  /** Data directories go under here (short: the redis unix socket path is limited). */
  dataRoot: string;
  logDir: string;
  nodeArgs: string[];
  /** The power-loss library to preload into every node (a power-cut nemesis runs). */
  powerLossLibrary?: string;
  /** The drifting-clock library to preload into every node (a clock nemesis runs). */
  clockLibrary?: string;
}

export type RaftInfo = Record<string, string>;

export function parseInfo(text: string): RaftInfo {
  const info: RaftInfo = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) {
      info[line.slice(0, colon)] = line.slice(colon + 1).trim();
    }
  }
  return info;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** With a power-cut nemesis, each node's syncs take this much longer (by slot). */
const powerCutSyncDelaysUs = [10_000, 3_000, 6_000];

export class ChaosCluster {
  /** Current members (including paused and killed ones). */
  readonly members: ChaosNode[] = [];
  /** Every node ever started, for cleanup. */
  private readonly all: ChaosNode[] = [];
  private nextSlot = 0;
  /** Members whose RAFT.NODE REMOVE got an unknown outcome, with their node ids. */
  private readonly uncertainRemovals = new Map<ChaosNode, string>();
  private destroyed = false;

  constructor(readonly options: ClusterOptions) {}

  addresses(): string[] {
    return this.members.map((n) => n.addr);
  }

  async newNode(): Promise<ChaosNode> {
    const slot = this.nextSlot++;
    await this.options.network.prepare(slot);
    const rateFile = `${this.options.dataRoot}/n${slot}.rate`;
    if (this.options.clockLibrary) await setClockRate(rateFile, 1);
    const node = new ChaosNode({
      slot,
      addr: this.options.network.addrOf(slot),
      dir: `${this.options.dataRoot}/n${slot}`,
      logPath: `${this.options.logDir}/n${slot}.log`,
      args: this.options.nodeArgs,
      wrap: (argv) => this.options.network.wrap(slot, argv),
      powerLoss: this.options.powerLossLibrary
        ? {
          library: this.options.powerLossLibrary,
          journal: `${this.options.dataRoot}/n${slot}.journal`,
          // Disks of different speeds: a leader's followers sync before or after it.
          syncDelayUs: powerCutSyncDelaysUs[slot % powerCutSyncDelaysUs.length],
        }
        : undefined,
      clock: this.options.clockLibrary
        ? { library: this.options.clockLibrary, rateFile }
        : undefined,
    });
    this.all.push(node);
    return node;
  }

  /** Start `count` nodes and form the cluster. */
  async start(count: number): Promise<void> {
    const nodes: ChaosNode[] = [];
    for (let i = 0; i < count; i++) nodes.push(await this.newNode());
    await Promise.all(nodes.map((n) => n.spawn()));
    const init = await callOnce(nodes[0].addr, ["RAFT.CLUSTER", "INIT"], 10_000);
    if (!/^OK [0-9a-f]{32}$/.test(String(init))) throw new Error(`RAFT.CLUSTER INIT: ${init}`);
    this.members.push(nodes[0]);
    for (const node of nodes.slice(1)) await this.join(node);
    await this.waitStable(60_000);
  }

  async join(node: ChaosNode, timeoutMs = 30_000): Promise<void> {
    // Every running member: one may have been removed without our knowing yet (its removal
    // timed out), and JOIN moves on from an address that cannot add it.
    const running = this.members.filter((m) => m.state === "running");
    const vias = running.length > 0 ? running : this.members.slice(0, 1);
    const reply = await callOnce(
      node.addr,
      ["RAFT.CLUSTER", "JOIN", ...vias.map((m) => m.addr)],
      timeoutMs,
    );
    if (reply !== "OK") {
      throw new Error(
        `RAFT.CLUSTER JOIN on ${node.name} via ${vias.map((m) => m.name).join(",")}: ${reply}`,
      );
    }
    this.members.push(node);
  }

  async info(node: ChaosNode, timeoutMs = 2000): Promise<RaftInfo | null> {
    if (node.state !== "running") return null;
    try {
      const reply = await callOnce(node.addr, ["INFO", "raft"], timeoutMs);
      return reply instanceof RespError ? null : parseInfo(String(reply));
    } catch {
      return null;
    }
  }

  /** The member that says it is leader now (the highest term wins a tie), or null. */
  async leader(): Promise<ChaosNode | null> {
    const infos = await Promise.all(
      this.members.map(async (n) => ({ node: n, info: await this.info(n) })),
    );
    const leaders = infos.filter((x) => x.info?.raft_role === "leader")
      .sort((a, b) => Number(b.info!.raft_current_term) - Number(a.info!.raft_current_term));
    return leaders[0]?.node ?? null;
  }

  async waitLeader(timeoutMs: number): Promise<ChaosNode | null> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const leader = await this.leader();
      if (leader) return leader;
      await sleep(200);
    }
    return null;
  }

  async nodeId(node: ChaosNode): Promise<string | null> {
    return (await this.info(node))?.raft_node_id ?? null;
  }

  /** Send to the leader, following MOVED, until a reply that is not a redirect or no-leader. */
  async callLeader(args: string[], timeoutMs = 10_000): Promise<Reply> {
    const deadline = performance.now() + timeoutMs;
    let target = (await this.leader())?.addr ?? this.members[0].addr;
    let last: Reply = null;
    while (performance.now() < deadline) {
      try {
        last = await callOnce(target, args, Math.max(deadline - performance.now(), 100));
      } catch (error) {
        last = new RespError(`ERR ${(error as Error).message}`);
        target = this.members[Math.floor(Math.random() * this.members.length)].addr;
        await sleep(200);
        continue;
      }
      const moved = last instanceof RespError ? /^MOVED \d+ (\S+)/.exec(last.message) : null;
      if (moved) {
        target = moved[1];
        continue;
      }
      if (last instanceof RespError && /^(CLUSTERDOWN|LOADING)/.test(last.message)) {
        await sleep(200);
        continue;
      }
      return last;
    }
    return last;
  }

  /** Every running member agrees on one leader, on the member count, and has applied all commits. */
  async waitStable(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      await this.reconcileRemovals();
      const infos = await Promise.all(this.members.map((n) => this.info(n)));
      if (infos.every((i) => i !== null)) {
        const leaders = new Set(infos.map((i) => i!.raft_leader_id));
        const commits = new Set(infos.map((i) => i!.raft_commit_index));
        const applied = new Set(infos.map((i) => i!.raft_last_applied_index));
        const sizes = new Set(infos.map((i) => i!.raft_num_nodes));
        const hasLeader = infos.some((i) => i!.raft_role === "leader");
        if (
          hasLeader && leaders.size === 1 && commits.size === 1 && applied.size === 1 &&
          sizes.size === 1 &&
          Number([...sizes][0]) === this.members.length && [...commits][0] === [...applied][0]
        ) return true;
      }
      await sleep(250);
    }
    return false;
  }

  /** Remove `node` through the leader; the node is stopped either way. */
  async remove(node: ChaosNode): Promise<string> {
    const id = await this.nodeId(node);
    if (!id) return `could not read the node id of ${node.name}`;
    const reply = await this.callLeader(["RAFT.NODE", "REMOVE", id], 15_000);
    const index = this.members.indexOf(node);
    if (reply === "OK") {
      this.members.splice(index, 1);
      node.expectExit();
      await node.waitExit(2000);
      await node.stop();
      return `removed ${node.name} (id ${id})`;
    }
    // A removal whose outcome is unknown (TIMEOUT, connection lost) may still commit under a
    // later leader; reconcileRemovals() checks the leader's membership and completes it.
    if (
      !(reply instanceof RespError && /^(CLUSTERDOWN|MOVED|TRYAGAIN|NOCLUSTER)/.test(reply.message))
    ) {
      this.uncertainRemovals.set(node, id);
    }
    return `RAFT.NODE REMOVE ${id} (${node.name}): ${reply}`;
  }

  /**
   * Removals answered with an unknown outcome: once a leader's membership shows the node gone,
   * drop it from `members` and stop it, as a successful removal would have. Returns the nodes
   * removed this way (empty if no leader answers or every uncertain node is still a member).
   */
  async reconcileRemovals(): Promise<ChaosNode[]> {
    if (this.uncertainRemovals.size === 0) return [];
    const leader = await this.leader();
    const info = leader ? await this.info(leader) : null;
    if (!info) return [];
    const ids = new Set<string>([info.raft_node_id]);
    for (const [key, value] of Object.entries(info)) {
      const id = key.startsWith("raft_node") && /^id=(\d+)/.exec(value)?.[1];
      if (id) ids.add(id);
    }
    const gone: ChaosNode[] = [];
    for (const [node, id] of this.uncertainRemovals) {
      if (ids.has(id)) continue;
      this.uncertainRemovals.delete(node);
      const index = this.members.indexOf(node);
      if (index >= 0) this.members.splice(index, 1);
      node.expectExit();
      await node.stop();
      gone.push(node);
    }
    return gone;
  }

  /** INFO raft of every member (or why not), for the record when the cluster does not settle. */
  async describe(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const node of this.members) {
      out[node.name] = { state: node.state, pid: node.pid, info: await this.info(node, 3000) };
    }
    return out;
  }

  /** Start a fresh node and join it. */
  async addFresh(): Promise<string> {
    const node = await this.newNode();
    try {
      await node.spawn();
      await this.join(node);
      return `added ${node.name} (${node.addr})`;
    } catch (error) {
      await node.stop();
      return `adding ${node.name} failed: ${(error as Error).message.split("\n")[0]}`;
    }
  }

  /** Undo every process fault: resume the paused, restart the killed. */
  async healProcesses(): Promise<void> {
    for (const node of this.members) {
      if (node.state === "paused") node.resume();
      node.continueChild();
      if (node.state === "killed" || node.state === "crashed") await node.spawn().catch(() => {});
    }
  }

  async digests(): Promise<DigestSample[]> {
    const samples = await Promise.all(this.members.map(async (node) => {
      try {
        const reply = await callOnce(node.addr, ["RAFT.DEBUG", "DIGEST"], 5000);
        if (!Array.isArray(reply)) return null;
        return { node: node.name, appliedIndex: Number(reply[0]), digest: String(reply[1]) };
      } catch {
        return null;
      }
    }));
    return samples.filter((s): s is DigestSample => s !== null);
  }

  /** Every unexpected exit of any node started here. */
  crashes(): string[] {
    return this.all.flatMap((n) => n.crashes);
  }

  /** Stop every node ever started here and their redis children. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.all.map((n) => n.stop().catch(() => {})));
  }
}
