/**
 * @module
 * Test helper: a cluster of real node processes on 127.0.0.1, formed exactly as the README
 * says (RAFT.CLUSTER INIT on the first node, RAFT.CLUSTER JOIN on the others), with helpers to
 * find the leader, follow MOVED redirects and compare nodes.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "./node_process.ts";
import { type Reply, RespClient, RespError } from "./resp_client.ts";

export function infoField(info: unknown, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(String(info))?.[1]?.trim();
}

/**
 * Send a command to a node just elected leader: it answers CLUSTERDOWN until its current-term
 * no-op is applied (nothing is proposed then), so retry that, bounded by time; any other reply
 * is final.
 */
export async function callNewLeader(client: RespClient, args: string[]): Promise<Reply> {
  const { reply } = await waitFor(async () => {
    const reply = await client.call(...args);
    const notReady = reply instanceof RespError && reply.message.startsWith("CLUSTERDOWN");
    return notReady ? undefined : { reply };
  }, "the new leader to take commands");
  return reply;
}

/** Wait until `count` clients of the node behind `client` wait in a blocking command. */
export async function waitBlockedClients(client: RespClient, count: number): Promise<void> {
  await waitFor(
    async () =>
      Number(infoField(await client.call("INFO", "clients"), "blocked_clients")) === count,
    `${count} blocked clients`,
  );
}

export class TestCluster {
  constructor(readonly nodes: NodeProcess[]) {}

  /** Start `count` nodes and form a cluster; `args` go to every node (after the fast timers). */
  static async start(
    count: number,
    args: string[] = [],
    timers = fastTimers,
  ): Promise<TestCluster> {
    const nodes: NodeProcess[] = [];
    try {
      for (let i = 0; i < count; i++) {
        nodes.push(await NodeProcess.start({ args: [...timers, ...args] }));
      }
      return await TestCluster.form(nodes);
    } catch (error) {
      await Promise.all(nodes.map((n) => n.destroy()));
      throw error;
    }
  }

  /**
   * Form a cluster of nodes already started (RAFT.CLUSTER INIT on the first, which leads, JOIN
   * on the others via it) and wait until it is settled and serving.
   */
  static async form(nodes: NodeProcess[]): Promise<TestCluster> {
    const cluster = new TestCluster(nodes);
    const first = await nodes[0].client();
    assert.match(String(await first.call("RAFT.CLUSTER", "INIT")), /^OK [0-9a-f]{32}$/);
    first.close();
    for (const node of nodes.slice(1)) await cluster.join(node, nodes[0]);
    // A joined node is a member first and a voter once the leader promotes it (one more log
    // entry): tests start from a settled cluster, not in the middle of that.
    await waitFor(async () => {
      const info = await cluster.info(await cluster.leader());
      return infoField(info, "raft_num_voting_nodes") === String(nodes.length) ? true : undefined;
    }, "every node voting");
    await cluster.waitConverged();
    await cluster.call(["EXISTS", "probe"]); // a read: waits until the leader serves
    return cluster;
  }

  async join(node: NodeProcess, via: NodeProcess): Promise<void> {
    const client = await node.client();
    try {
      assert.equal(await client.call("RAFT.CLUSTER", "JOIN", via.addr), "OK");
    } finally {
      client.close();
    }
  }

  /** The index of the last entry in `node`'s log (INFO's raft_current_index). */
  async lastIndex(node: NodeProcess): Promise<number> {
    return Number(infoField(await this.info(node), "raft_current_index"));
  }

  async info(node: NodeProcess): Promise<string> {
    const client = await node.client();
    try {
      return String(await client.call("INFO", "raft"));
    } finally {
      client.close();
    }
  }

  /** The node that says it is leader and serves writes. */
  async leader(timeoutMs = 15_000, among = this.nodes): Promise<NodeProcess> {
    return await waitFor(
      async () => {
        for (const node of among) {
          if (!node.process) continue;
          const info = await this.info(node).catch(() => "");
          if (infoField(info, "raft_role") === "leader") return node;
        }
        return undefined;
      },
      "a leader",
      timeoutMs,
    );
  }

  /**
   * Send a command to the cluster, following MOVED and retrying while it surely did not run
   * (CLUSTERDOWN, LOADING, no connection), bounded by time. An indeterminate outcome (TIMEOUT,
   * connection lost after sending) is retried only with `retryIndeterminate`, for idempotent
   * commands; otherwise it is returned as is.
   */
  async call(args: string[], timeoutMs = 15_000, retryIndeterminate = true): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    let target = this.nodes.find((n) => n.process) ?? this.nodes[0];
    let last: Reply = null;
    while (Date.now() < deadline) {
      let client: RespClient;
      try {
        client = await target.client();
      } catch {
        target = this.nodes[(this.nodes.indexOf(target) + 1) % this.nodes.length];
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        last = await client.call(...args);
      } catch {
        last = new RespError("connection lost");
      } finally {
        client.close();
      }
      if (!(last instanceof RespError)) return last;
      const moved = /^MOVED \d+ (\S+)$/.exec(last.message);
      if (moved) {
        target = this.nodes.find((n) => n.addr === moved[1]) ?? target;
        continue;
      }
      const indeterminate = /^(TIMEOUT|connection lost)/.test(last.message);
      if (indeterminate && !retryIndeterminate) return last;
      if (!indeterminate && !/^(CLUSTERDOWN|LOADING|NOCLUSTER)/.test(last.message)) return last;
      target = this.nodes[(this.nodes.indexOf(target) + 1) % this.nodes.length];
      await new Promise((r) => setTimeout(r, 50));
    }
    return last;
  }

  /** Wait until every running node has applied the same index with the same digest. */
  async waitConverged(timeoutMs = 20_000, among = this.nodes): Promise<[number, string]> {
    return await waitFor(
      async () => {
        const digests: [number, string][] = [];
        for (const node of among) {
          if (!node.process) continue;
          const client = await node.client();
          try {
            const reply = await client.call("RAFT.DEBUG", "DIGEST") as [number, string];
            digests.push(reply);
          } finally {
            client.close();
          }
        }
        const [first] = digests;
        const same = digests.every((d) => d[0] === first[0] && d[1] === first[1]);
        return same ? first : undefined;
      },
      "nodes to converge",
      timeoutMs,
    );
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** Short timers so that failover tests take seconds, not minutes. */
export const fastTimers = [
  "--election-timeout-ms",
  "500",
  "--heartbeat-interval-ms",
  "50",
  "--tick-interval-ms",
  "10",
];
