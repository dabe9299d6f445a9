/**
 * @module
 * Integration: a cluster-aware client, node-redis's `createCluster`, given only followers'
 * addresses, finds the leader through the emulated CLUSTER SLOTS, and follows the leader when it
 * changes: after RAFT.TRANSFER_LEADER (the old leader's MOVED makes it rediscover) and after the
 * leader is killed and restarts as a follower. READONLY connections to followers read the
 * follower's own state, so clients that read from replicas (node-redis's `useReplicas`) work.
 */
import assert from "node:assert/strict";
import { createCluster } from "redis";
import { type NodeProcess, waitFor, within } from "../helpers/node_process.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/resp_client.ts";

const keysPerRound = 20;
const writeAttemptsMaxCount = 40;
const writeAttemptMs = 3000;

type ClusterClient = ReturnType<typeof createCluster>;

function connectVia(nodes: NodeProcess[], useReplicas = false): ClusterClient {
  const client = createCluster({
    rootNodes: nodes.map((node) => ({ url: `redis://${node.addr}` })),
    useReplicas,
  });
  client.on("error", () => {});
  return client;
}

/** Destroy the client (it throws when every connection ended already), then the cluster. */
async function closeAll(client: ClusterClient, cluster: TestCluster): Promise<void> {
  try {
    client.destroy();
  } catch { /* closed already */ }
  await cluster.destroy();
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
    await closeAll(client, cluster);
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
    await closeAll(client, cluster);
  }
});

Deno.test("READONLY: a follower reads its own state for that connection, even cut off from the others", async () => {
  const cluster = await TestCluster.start(3);
  const leader = await cluster.leader();
  const [follower, other] = cluster.nodes.filter((node) => node !== leader);
  const stopped: number[] = [];
  const c = await follower.client();
  try {
    assert.equal(await cluster.call(["SET", "k", "v1"]), "OK");
    assert.deepEqual(await c.call("GET", "k"), new RespError(`MOVED 0 ${leader.addr}`));
    assert.equal(await c.call("READONLY"), "OK");
    await waitFor(async () => await c.call("GET", "k") === "v1", "the follower to apply k");
    assert.deepEqual(await c.call("SET", "k", "v2"), new RespError(`MOVED 0 ${leader.addr}`));
    assert.match(String(await c.call("CLIENT", "INFO")), / flags=r /);
    assert.deepEqual(
      await c.call("READONLY", "x"),
      new RespError("ERR wrong number of arguments for 'readonly' command"),
    );

    assert.equal(await c.call("READWRITE"), "OK");
    assert.deepEqual(await c.call("GET", "k"), new RespError(`MOVED 0 ${leader.addr}`));
    assert.equal(await c.call("READONLY"), "OK");
    assert.equal(await c.call("RESET"), "RESET");
    assert.deepEqual(await c.call("GET", "k"), new RespError(`MOVED 0 ${leader.addr}`));
    assert.match(String(await c.call("CLIENT", "INFO")), / flags=N /);

    // On the leader READONLY changes nothing: reads stay linearizable there.
    const l = await leader.client();
    assert.equal(await l.call("READONLY"), "OK");
    assert.equal(await l.call("GET", "k"), "v1");
    l.close();
    assert.equal(await c.call("READONLY"), "OK");

    // Its own state: served with the leader and the other follower stopped (no quorum at all).
    for (const node of [leader, other]) {
      stopped.push(node.process!.pid);
      Deno.kill(node.process!.pid, "SIGSTOP");
    }
    // Past its longest election timeout (fastTimers: 500 ms, up to twice that): it campaigns
    // and knows no leader.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(await c.call("GET", "k"), "v1");
    const plain = await follower.client();
    assert.deepEqual(await plain.call("GET", "k"), new RespError("CLUSTERDOWN No raft leader"));
    plain.close();
  } finally {
    for (const pid of stopped) Deno.kill(pid, "SIGCONT");
    c.close();
    await cluster.destroy();
  }
});

Deno.test("node-redis's cluster client with useReplicas reads from the followers", async () => {
  const cluster = await TestCluster.start(3);
  const leader = await cluster.leader();
  const client = connectVia([leader], true);
  try {
    await within(client.connect(), 10_000);
    assert.deepEqual(masters(client), [leader.addr]);
    assert.deepEqual(
      client.replicas.map((node) => node.address).sort(),
      cluster.nodes.filter((node) => node !== leader).map((node) => node.addr).sort(),
    );
    // Followers' reads are stale reads (READONLY): what they serve may trail the leader's
    // acknowledgements, so the keys are read once every node has applied them.
    for (let i = 0; i < keysPerRound; i++) await setUntilAcknowledged(client, `k:${i}`, `v${i}`);
    await cluster.waitConverged();
    const before = await replicaReadCount(cluster.nodes.filter((node) => node !== leader));
    for (let i = 0; i < keysPerRound; i++) assert.equal(await client.get(`k:${i}`), `v${i}`);
    const after = await replicaReadCount(cluster.nodes.filter((node) => node !== leader));
    assert.ok(after > before, `reads served by the followers: ${before} then ${after}`);
  } finally {
    await closeAll(client, cluster);
  }
});

/** GETs the followers' children have served (their INFO commandstats). */
async function replicaReadCount(followers: NodeProcess[]): Promise<number> {
  let total = 0;
  for (const node of followers) {
    const c = await node.client();
    const stats = String(await c.call("INFO", "commandstats"));
    c.close();
    total += Number(/^cmdstat_get:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
  }
  return total;
}
