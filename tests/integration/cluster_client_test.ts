/**
 * @module
 * Integration: a cluster-aware client, node-redis's `createCluster`, given only followers'
 * addresses, finds the leader through the emulated CLUSTER SLOTS, and follows the leader when it
 * changes: after RAFT.TRANSFER_LEADER (the old leader's MOVED makes it rediscover) and after the
 * leader is killed and restarts as a follower.
 */
import assert from "node:assert/strict";
import { createCluster } from "redis";
import { waitFor, within } from "../helpers/node_process.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import type { NodeProcess } from "../helpers/node_process.ts";

const keysPerRound = 20;
const writeAttemptsMaxCount = 40;
const writeAttemptMs = 3000;

type ClusterClient = ReturnType<typeof createCluster>;

function connectVia(nodes: NodeProcess[]): ClusterClient {
  const client = createCluster({
    rootNodes: nodes.map((node) => ({ url: `redis://${node.addr}` })),
  });
  client.on("error", () => {});
  return client;
}

/** SET through the cluster client until one is acknowledged, bounded in attempts and time. */
async function setUntilAcknowledged(client: ClusterClient, key: string, value: string) {
  let last: unknown;
  for (let attempt = 0; attempt < writeAttemptsMaxCount; attempt++) {
    try {
      const reply = await within(client.set(key, value), writeAttemptMs);
      if (reply === "OK") return;
      last = reply;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`SET ${key} never acknowledged: ${last}`);
}

async function writeAndRead(client: ClusterClient, prefix: string): Promise<void> {
  for (let i = 0; i < keysPerRound; i++) {
    await setUntilAcknowledged(client, `${prefix}:${i}`, `v${i}`);
  }
  for (let i = 0; i < keysPerRound; i++) {
    assert.equal(await client.get(`${prefix}:${i}`), `v${i}`);
  }
}

const masters = (client: ClusterClient) => client.masters.map((node) => node.address);

Deno.test("node-redis's cluster client finds the leader via followers and follows a transfer", async () => {
  const cluster = await TestCluster.start(3);
  const leader = await cluster.leader();
  const client = connectVia(cluster.nodes.filter((node) => node !== leader));
  try {
    await client.connect();
    assert.deepEqual(masters(client), [leader.addr]);
    await writeAndRead(client, "before");
    assert.deepEqual(await client.multi().set("n", "1").incr("n").get("n").exec(), ["OK", 2, "2"]);

    const admin = await leader.client();
    assert.equal(await admin.call("RAFT.TRANSFER_LEADER"), "OK");
    admin.close();
    const next = await waitFor(async () => {
      const now = await cluster.leader();
      return now !== leader ? now : undefined;
    }, "a new leader");

    // The first command goes to the old leader, whose MOVED makes the client rediscover.
    await writeAndRead(client, "after");
    assert.deepEqual(masters(client), [next.addr]);
    await cluster.waitConverged();
    assert.equal(await cluster.call(["GET", `after:${keysPerRound - 1}`]), `v${keysPerRound - 1}`);
  } finally {
    try {
      client.destroy();
    } catch { /* closed already */ }
    await cluster.destroy();
  }
});

Deno.test("node-redis's cluster client goes on after the leader is killed and restarts", async () => {
  const cluster = await TestCluster.start(3);
  const leader = await cluster.leader();
  const client = connectVia(cluster.nodes);
  try {
    await client.connect();
    await writeAndRead(client, "before");

    await leader.crash();
    const others = cluster.nodes.filter((node) => node !== leader);
    const next = await cluster.leader(15_000, others);
    await leader.spawn();

    // node-redis rediscovers the slots only on MOVED, so its way to the new leader is through
    // the old leader's address: it must answer MOVED once it is back as a follower.
    await writeAndRead(client, "after");
    assert.deepEqual(masters(client), [next.addr]);
    await cluster.waitConverged();
    for (const prefix of ["before", "after"]) {
      assert.equal(await cluster.call(["GET", `${prefix}:0`]), "v0");
    }
  } finally {
    try {
      client.destroy();
    } catch { /* closed already */ }
    await cluster.destroy();
  }
});
