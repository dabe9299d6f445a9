/**
 * Integration: membership changes on a live cluster of real processes: a node joins under load,
 * a follower and then the leader are removed, a fresh node is added; removed nodes stop serving,
 * also after a restart, and node ids are never reused.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { RespError } from "../helpers/resp_client.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";

async function nodeId(cluster: TestCluster, node: NodeProcess): Promise<string> {
  return infoField(await cluster.info(node), "raft_node_id")!;
}

Deno.test("join under load, remove a follower, remove the leader, add a fresh node", async () => {
  const cluster = await TestCluster.start(3);
  const extra: NodeProcess[] = [...cluster.nodes];
  try {
    let stop = false;
    let acked = 0;
    const load = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        if (typeof await cluster.call(["INCR", "load"], 10_000, false) === "number") acked++;
      }
    })();

    // A fourth node joins while writes flow, and becomes a voter.
    const n4 = await NodeProcess.start({ args: fastTimers });
    extra.push(n4);
    await cluster.join(n4, cluster.nodes[0]);
    cluster.nodes.push(n4);
    await waitFor(async () => {
      const info = await cluster.info(await cluster.leader());
      return infoField(info, "raft_num_voting_nodes") === "4";
    }, "the new node to be promoted to voter");

    // Remove a follower: it leaves and refuses data commands, also after a restart.
    let leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader && n !== n4)!;
    const followerId = await nodeId(cluster, follower);
    const admin = await leader.client();
    assert.equal(await admin.call("RAFT.NODE", "REMOVE", followerId), "OK");
    assert.deepEqual(
      await admin.call("RAFT.NODE", "REMOVE", "12345"),
      new RespError("ERR node id does not exist"),
    );
    admin.close();
    cluster.nodes.splice(cluster.nodes.indexOf(follower), 1);
    await waitFor(async () => {
      const c = await follower.client();
      const reply = await c.call("SET", "x", "1");
      c.close();
      return reply instanceof RespError && reply.message === "NOCLUSTER No Raft Cluster";
    }, "the removed follower to refuse service");
    await follower.stop();
    await follower.spawn();
    const again = await follower.client();
    assert.deepEqual(await again.call("GET", "load"), new RespError("NOCLUSTER No Raft Cluster"));
    assert.equal(infoField(await again.call("INFO", "raft"), "raft_state"), "uninitialized");
    again.close();

    // Remove the leader itself: the others elect a new leader and go on.
    leader = await cluster.leader();
    const leaderId = await nodeId(cluster, leader);
    const leaderClient = await leader.client();
    assert.equal(await leaderClient.call("RAFT.NODE", "REMOVE", leaderId), "OK");
    leaderClient.close();
    cluster.nodes.splice(cluster.nodes.indexOf(leader), 1);
    const newLeader = await cluster.leader(15_000);
    assert.notEqual(newLeader, leader);
    const info = await cluster.info(newLeader);
    assert.equal(infoField(info, "raft_num_nodes"), "2");

    // A fresh node joins; the removed id cannot be reused.
    const n5 = await NodeProcess.start({ args: fastTimers });
    extra.push(n5);
    await cluster.join(n5, newLeader);
    cluster.nodes.push(n5);
    const used = await newLeader.client();
    const usedIds = (await used.call("RAFT.DEBUG", "USED_NODE_IDS") as number[]).map(String);
    assert.ok(usedIds.includes(followerId) && usedIds.includes(leaderId));
    const leader2 = await cluster.leader();
    const add = await leader2.client();
    assert.deepEqual(
      await add.call("RAFT.NODE", "ADD", followerId, "127.0.0.1:1"),
      new RespError("ERR node id has already been used in this cluster"),
    );
    add.close();
    used.close();

    stop = true;
    await load;
    const final = Number(await cluster.call(["GET", "load"], 20_000));
    assert.ok(final >= acked, `counter ${final} >= acknowledged ${acked}`);
    await cluster.waitConverged(30_000);
  } finally {
    await Promise.all(extra.map((n) => n.destroy()));
  }
});

Deno.test("nodes joining at the same time all get in (one voting change at a time: JOIN retries)", async () => {
  const nodes: NodeProcess[] = [];
  try {
    for (let i = 0; i < 4; i++) nodes.push(await NodeProcess.start({ args: fastTimers }));
    const cluster = new TestCluster(nodes);
    const first = await nodes[0].client();
    assert.match(String(await first.call("RAFT.CLUSTER", "INIT")), /^OK/);
    first.close();
    await Promise.all(nodes.slice(1).map((node) => cluster.join(node, nodes[0])));
    await cluster.waitConverged();
    await waitFor(
      async () => /raft_num_voting_nodes:4/.test(await cluster.info(nodes[0])),
      "4 voters",
      15_000,
    );
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
});

Deno.test("JOIN moves on from an address that cannot add it (a node in no cluster) to the next", async () => {
  const cluster = await TestCluster.start(3);
  const loners = [
    await NodeProcess.start({ args: fastTimers }),
    await NodeProcess.start({ args: fastTimers }),
  ];
  const joiner = await NodeProcess.start({ args: fastTimers });
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const client = await joiner.client();
    // The loner answers NOCLUSTER; the follower answers MOVED to the leader.
    assert.equal(await client.call("RAFT.CLUSTER", "JOIN", loners[0].addr, follower.addr), "OK");
    client.close();
    cluster.nodes.push(joiner);
    await cluster.waitConverged();
    const lonely = await loners[0].client();
    assert.deepEqual(
      await lonely.call("RAFT.CLUSTER", "JOIN", loners[1].addr),
      new RespError("ERR failed to connect to cluster for join, please check logs"),
      "with no address left that can add it, JOIN still gives up at once",
    );
    lonely.close();
  } finally {
    await Promise.all([...loners, joiner].map((n) => n.destroy()));
    await cluster.destroy();
  }
});

Deno.test("a JOIN whose first RAFT.NODE ADD timed out but committed still joins (C13)", async () => {
  const cluster = await TestCluster.start(3);
  const joiner = await NodeProcess.start({ args: [...fastTimers, "--request-timeout-ms", "50"] });
  try {
    const leader = await cluster.leader();
    const followers = cluster.nodes.filter((n) => n !== leader);
    // The leader cannot commit the ADD before the joiner's 50 ms request timeout...
    for (const f of followers) Deno.kill(f.process!.pid, "SIGSTOP");
    const client = await joiner.client();
    const joined = client.call("RAFT.CLUSTER", "JOIN", leader.addr);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // ...but commits it soon after; the joiner's retry then hears "already been used".
    for (const f of followers) Deno.kill(f.process!.pid, "SIGCONT");
    assert.equal(await joined, "OK");
    client.close();
    cluster.nodes.push(joiner);
    await cluster.waitConverged();
  } finally {
    for (const n of cluster.nodes) {
      if (n.process) Deno.kill(n.process.pid, "SIGCONT");
    }
    await joiner.destroy();
    await cluster.destroy();
  }
});

Deno.test("with one of three down, removing another is refused (the rest could not commit it); the one down may go", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const [up, down] = cluster.nodes.filter((n) => n !== leader);
    const idOf = async (node: NodeProcess) => infoField(await cluster.info(node), "raft_node_id")!;
    const [upId, downId, leaderId] = [await idOf(up), await idOf(down), await idOf(leader)];
    await down.stop();
    const admin = await leader.client();
    try {
      // Once the leader has missed the stopped node for a while (two heartbeats are enough).
      await new Promise((r) => setTimeout(r, 1000));
      const refusal =
        "ERR cannot remove: too few of the remaining voting nodes are reachable and caught up to commit it";
      assert.deepEqual(await admin.call("RAFT.NODE", "REMOVE", upId), new RespError(refusal));
      assert.deepEqual(await admin.call("RAFT.NODE", "REMOVE", leaderId), new RespError(refusal));
      assert.equal(await admin.call("RAFT.NODE", "REMOVE", downId), "OK");
      assert.equal(await cluster.call(["SET", "after", "1"]), "OK", "two voters serve");
    } finally {
      admin.close();
    }
  } finally {
    await cluster.destroy();
  }
});
