/**
 * @module
 * A leader cut off from its followers (in both directions, by network namespaces) that has not
 * noticed yet (its election timeout, and so its quorum check, is long) gets a GET after the
 * others elected a new leader and overwrote the key. It may run the read on its child at once
 * (everything it knows committed is applied), but must not answer with what it read: its
 * ReadIndex round cannot be confirmed, so the answer is an error, never the old value.
 */
import assert from "node:assert/strict";
import { ChaosNode } from "./chaos_node.ts";
import { NamespaceNetwork } from "./network.ts";
import { callOnce, type Reply, RespError } from "./resp_connection.ts";
import { waitFor } from "../helpers/node_process.ts";
import { infoField } from "../helpers/test_cluster.ts";

const raftInfo = async (addr: string, field: string) =>
  infoField(await callOnce(addr, ["INFO", "raft"]), field);

Deno.test({
  name:
    "a leader cut off from its followers never answers a read from before the new leader's write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const network = await NamespaceNetwork.create();
    assert.ok(network, "network namespaces are needed (run as root with `ip netns`)");
    const root = await Deno.makeTempDir({ prefix: "redisraft-cutoff-" });
    const nodes: ChaosNode[] = [];
    try {
      for (let slot = 0; slot < 3; slot++) {
        await network.prepare(slot);
        // The first node leads and must not notice the cut for the whole test.
        const timers = slot === 0
          ? ["--election-timeout-ms", "60000", "--request-timeout-ms", "2000"]
          : ["--election-timeout-ms", "500"];
        nodes.push(
          new ChaosNode({
            slot,
            addr: network.addrOf(slot),
            dir: `${root}/n${slot}`,
            logPath: `${root}/n${slot}.log`,
            args: timers,
            wrap: (argv) => network.wrap(slot, argv),
          }),
        );
      }
      for (const node of nodes) await node.spawn();
      const [old, ...others] = nodes;
      assert.match(String(await callOnce(old.addr, ["RAFT.CLUSTER", "INIT"])), /^OK /);
      for (const node of others) {
        assert.equal(
          await callOnce(node.addr, ["RAFT.CLUSTER", "JOIN", old.addr], 20_000),
          "OK",
        );
      }
      await waitFor(
        async () => await raftInfo(old.addr, "raft_num_voting_nodes") === "3",
        "three voters",
        20_000,
      );
      assert.equal(await callOnce(old.addr, ["SET", "k", "before"]), "OK");
      assert.equal(await callOnce(old.addr, ["GET", "k"]), "before");
      for (const other of [1, 2]) {
        await network.drop(0, other);
        await network.drop(other, 0);
      }
      const fresh = await waitFor(
        async () => {
          for (const node of others) {
            if (await raftInfo(node.addr, "raft_role") === "leader") return node;
          }
          return undefined;
        },
        "a new leader among the others",
        20_000,
      );
      await waitFor(
        async () => await callOnce(fresh.addr, ["SET", "k", "after"]) === "OK",
        "the new leader to take the write",
        20_000,
      );
      assert.equal(
        await raftInfo(old.addr, "raft_role"),
        "leader",
        "the cut-off leader has not noticed yet",
      );
      const read: Reply = await callOnce(old.addr, ["GET", "k"], 10_000);
      assert.notEqual(read, "before", "stale read from a deposed leader");
      assert.ok(read instanceof RespError && /^TIMEOUT/.test(read.message), String(read));
    } finally {
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
      await network.destroy();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
