/**
 * @module
 * Test helper: three nodes in network namespaces, the first one leading; the leader is cut off
 * from the other two in both directions (clients still reach it), and the others elect a new
 * leader that takes a write. For tests of what the cut-off leader may still answer, and of
 * links cut between two nodes only (a bridge through the third).
 */
import assert from "node:assert/strict";
import { ChaosNode, type NodeSpec } from "./chaos_node.ts";
import { NamespaceNetwork } from "./network.ts";
import { callOnce } from "./resp_connection.ts";
import { waitFor } from "../helpers/node_process.ts";
import { infoField } from "../helpers/test_cluster.ts";

export const raftInfo = async (addr: string, field: string) =>
  infoField(await callOnce(addr, ["INFO", "raft"]), field);

/** The parts of a node's spec a test chooses, by slot (0 leads). */
export type SlotSpec = Pick<NodeSpec, "args" | "clock">;

export class CutOffTrio {
  private constructor(
    readonly network: NamespaceNetwork,
    readonly root: string,
    readonly nodes: ChaosNode[],
  ) {}

  /** Starts the three nodes (in `root`) and forms the cluster with the first as leader. */
  static async start(root: string, specOf: (slot: number) => SlotSpec): Promise<CutOffTrio> {
    const network = await NamespaceNetwork.create();
    assert.ok(network, "network namespaces are needed (run as root with `ip netns`)");
    const trio = new CutOffTrio(network, root, []);
    try {
      for (let slot = 0; slot < 3; slot++) {
        await network.prepare(slot);
        trio.nodes.push(
          new ChaosNode({
            slot,
            addr: network.addrOf(slot),
            dir: `${root}/n${slot}`,
            logPath: `${root}/n${slot}.log`,
            wrap: (argv) => network.wrap(slot, argv),
            ...specOf(slot),
          }),
        );
      }
      for (const node of trio.nodes) await node.spawn();
      const [leader, ...others] = trio.nodes;
      assert.match(String(await callOnce(leader.addr, ["RAFT.CLUSTER", "INIT"])), /^OK /);
      for (const node of others) {
        const joined = await callOnce(node.addr, ["RAFT.CLUSTER", "JOIN", leader.addr], 20_000);
        assert.equal(joined, "OK");
      }
      await waitFor(
        async () => await raftInfo(leader.addr, "raft_num_voting_nodes") === "3",
        "three voters",
        20_000,
      );
      return trio;
    } catch (error) {
      await trio.destroy();
      throw error;
    }
  }

  /**
   * Starts a trio in a fresh temporary directory named by `prefix`, runs `body` on it, then stops
   * the nodes and removes the directory, whatever `body` did.
   */
  static async with<T>(
    prefix: string,
    specOf: (slot: number) => SlotSpec,
    body: (trio: CutOffTrio) => Promise<T>,
  ): Promise<T> {
    const root = await Deno.makeTempDir({ prefix });
    try {
      const trio = await CutOffTrio.start(root, specOf);
      try {
        return await body(trio);
      } finally {
        await trio.destroy();
      }
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }

  /** The first node: the leader until it is cut off. */
  get old(): ChaosNode {
    return this.nodes[0];
  }

  /** Cuts the first node off from the others, both ways. */
  async cutOff(): Promise<void> {
    for (const other of [1, 2]) await this.cut(0, other);
  }

  /** Cuts the link between the nodes in slots `a` and `b`, both ways. */
  async cut(a: number, b: number): Promise<void> {
    await this.network.drop(a, b);
    await this.network.drop(b, a);
  }

  /** Waits for a new leader among the others and writes `key` = `value` there. */
  async writeOnNewLeader(key: string, value: string): Promise<ChaosNode> {
    const fresh = await waitFor(
      async () => {
        for (const node of this.nodes.slice(1)) {
          if (await raftInfo(node.addr, "raft_role") === "leader") return node;
        }
        return undefined;
      },
      "a new leader among the others",
      20_000,
    );
    await waitFor(
      async () => await callOnce(fresh.addr, ["SET", key, value]) === "OK",
      "the new leader to take the write",
      20_000,
    );
    return fresh;
  }

  /** Stops every node and removes the namespaces. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => {})));
    await this.network.destroy();
  }
}
