/**
 * Integration: snapshots under a tiny --log-max-bytes (32000, as the Jepsen tests of RedisRaft
 * used): constant compaction keeps every node equal, a new node and a follower that was down
 * while the leader compacted past it catch up through a snapshot, and a full-cluster restart
 * after many snapshots keeps the data.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";
import { readTrailer } from "../../src/node/snapshot_trailer.ts";

// Small appends too: the leader keeps probing a stopped follower, and an append it queued
// before compacting, delivered once the follower is back, must not hold every entry it missed.
const tinyLog = [
  "--log-max-bytes",
  "32000",
  "--snapshot-min-entries",
  "1",
  "--append-req-max-bytes",
  "4096",
];

async function writeMany(cluster: TestCluster, prefix: string, count: number): Promise<void> {
  const leader = await cluster.leader();
  const client = await leader.client();
  for (let start = 0; start < count; start += 500) {
    const batch: string[][] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      batch.push(["SET", `${prefix}:${i}`, `v${i}`], ["INCR", `${prefix}:count`]);
    }
    await client.pipeline(batch);
  }
  client.close();
}

Deno.test("a tiny log snapshots constantly; a late joiner and a lagging follower catch up by snapshot; restarts keep data", async () => {
  const cluster = await TestCluster.start(3, tinyLog);
  const extra: NodeProcess[] = [];
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await follower.stop();
    await writeMany(cluster, "a", 4000);
    // Write batches make few, large entries: the writes may be done while the second snapshot
    // is still being taken.
    const leaderInfo = await waitFor(async () => {
      const info = await cluster.info(leader);
      return Number(infoField(info, "raft_file_size")) < 64_000 &&
        Number(infoField(info, "raft_snapshots_created")) >= 2 && info;
    }, "two snapshots and the log compacted below twice --log-max-bytes");
    const lastIndex = Number(infoField(leaderInfo, "raft_current_index"));
    assert.ok(Number(infoField(leaderInfo, "raft_snapshot_last_idx")) > lastIndex / 2);

    // The follower that was down missed entries the leader compacted away: it gets a snapshot.
    await follower.spawn();
    await cluster.waitConverged(30_000);
    const followerInfo = await cluster.info(follower);
    assert.ok(
      Number(infoField(followerInfo, "raft_snapshots_received")) >= 1,
      `no snapshot received; leader before: ${leaderInfo}\nnow: ${await cluster.info(leader)}\n` +
        `follower: ${followerInfo}\n` +
        `follower log:\n${(await follower.log()).split("\n").slice(-40).join("\n")}`,
    );

    // A fourth node joins after all that and catches up the same way.
    const late = await NodeProcess.start({ args: [...fastTimers, ...tinyLog] });
    extra.push(late);
    // A second later than its start, so that LASTSAVE below tells the install from the start.
    await new Promise((r) => setTimeout(r, 1100));
    const joinSec = Math.floor(Date.now() / 1000);
    await cluster.join(late, leader);
    cluster.nodes.push(late);
    await cluster.waitConverged(30_000);
    const lateClient = await late.client();
    assert.equal(await lateClient.call("RAFT.DEBUG", "EXEC", "GET", "a:count"), "4000");
    assert.equal(await lateClient.call("RAFT.DEBUG", "EXEC", "GET", "a:3999"), "v3999");
    assert.ok(
      Number(infoField(await lateClient.call("INFO", "raft"), "raft_snapshots_received")) >= 1,
    );
    // The received snapshot is this node's last save (LASTSAVE, by the node's clock).
    const lastSave = await lateClient.call("LASTSAVE") as number;
    assert.ok(lastSave >= joinSec, `LASTSAVE ${lastSave}, joined at ${joinSec}`);
    lateClient.close();

    // Everything restarted at once after many snapshots: the data is intact.
    await writeMany(cluster, "b", 1000);
    await cluster.waitConverged(30_000);
    await Promise.all(cluster.nodes.map((n) => n.stop()));
    await Promise.all(cluster.nodes.map((n) => n.spawn()));
    assert.equal(await cluster.call(["GET", "a:count"], 20_000), "4000");
    assert.equal(await cluster.call(["GET", "b:count"], 20_000), "1000");
    await cluster.waitConverged(30_000);
  } finally {
    await cluster.destroy();
    await Promise.all(extra.map((n) => n.destroy()));
  }
});

Deno.test("RAFT.DEBUG COMPACT snapshots now; a single node restarts from snapshot plus log tail", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const client = await node.client();
    assert.equal(
      await client.call("EVAL", "return redis.call('INCR', KEYS[1])", "1", "counter"),
      1,
    );
    const sha = String(await client.call("SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])"));
    for (let i = 0; i < 3; i++) await client.call("INCR", "testkey");
    // The entries held in memory (all since the snapshot) show in RedisRaft's cache fields.
    assert.equal(await client.call("SET", "big", "x".repeat(200_000)), "OK");
    const held = String(await client.call("INFO", "raft"));
    assert.equal(infoField(held, "raft_cache_entries"), infoField(held, "raft_log_entries"));
    assert.ok(Number(infoField(held, "raft_cache_entries")) >= 6, held);
    assert.ok(Number(infoField(held, "raft_cache_memory_size")) >= 200_000, held);
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    const info = String(await client.call("INFO", "raft"));
    assert.equal(infoField(info, "raft_snapshots_created"), "1");
    assert.equal(infoField(info, "raft_cache_entries"), "0");
    const heldBytes = (text: string) => Number(infoField(text, "raft_cache_memory_size"));
    assert.ok(heldBytes(info) <= heldBytes(held) - 200_000, "the large entry's bytes are let go");
    assert.equal(
      await client.call("INCR", "testkey"),
      4,
      "written after the snapshot: in the log tail",
    );
    client.close();
    await node.stop();
    await node.spawn();
    assert.equal(await cluster.call(["GET", "testkey"], 20_000), "4");
    assert.equal(
      await cluster.call(["EVALSHA", sha, "1", "counter"]),
      2,
      "scripts survive in the snapshot",
    );
  } finally {
    await cluster.destroy();
  }
});

Deno.test("raft.log-max-file-size set at run time (with units) snapshots as the log grows past it, not after every few entries; 0 never", async () => {
  // Started with the default limit: the log's segments are far larger than the limit set below,
  // so the one holding the last snapshot's index stays on disk after the snapshot.
  const cluster = await TestCluster.start(1);
  try {
    const client = await cluster.nodes[0].client();
    const created = async () =>
      Number(infoField(await client.call("INFO", "raft"), "raft_snapshots_created"));
    assert.equal(await client.call("CONFIG", "SET", "raft.log-max-file-size", "64kb"), "OK");
    assert.deepEqual(await client.call("CONFIG", "GET", "raft.log-max-file-size"), [
      "raft.log-max-file-size",
      "65536",
    ]);
    const value = "v".repeat(1000);
    // One at a time: one entry each, about 1 KB, 400 KB in all, so about six snapshots.
    for (let i = 0; i < 400; i++) assert.equal(await client.call("SET", `k${i}`, value), "OK");
    await waitFor(async () => await created() >= 2, "snapshots as the log grows");
    const settled = () =>
      waitFor(async () => {
        const info = await client.call("INFO", "raft");
        return infoField(info, "raft_snapshot_in_progress") === "no";
      }, "the snapshot in progress to end");
    await settled();
    assert.ok(await created() <= 12, `${await created()} snapshots for 400 KB at 64 KB each`);
    // Right after a snapshot, 20 KB of entries are not 64 KB, however large the log's file.
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    let taken = await created();
    for (let i = 0; i < 20; i++) assert.equal(await client.call("SET", `y${i}`, value), "OK");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await created(), taken, "20 KB since the last snapshot: none");

    assert.equal(await client.call("CONFIG", "SET", "raft.log-max-file-size", "0"), "OK");
    await settled();
    taken = await created();
    for (let i = 0; i < 300; i++) assert.equal(await client.call("SET", `z${i}`, value), "OK");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await created(), taken, "0: no snapshot at all");
    client.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("the WATCH history goes into the snapshot file as binary, not into JSON: the metadata stays small", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const client = await node.client();
    const value = "w".repeat(2000);
    for (let i = 0; i < 1000; i++) assert.equal(await client.call("SET", `k${i}`, value), "OK");
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    client.close();
    const dir = `${node.dir}/snapshot`;
    const meta = await Deno.stat(`${dir}/snapshot.meta`);
    assert.ok(meta.size < 16 * 1024, `snapshot.meta is ${meta.size} bytes`);
    const [rdb] = [...Deno.readDirSync(dir)].filter((entry) => entry.name.endsWith(".rdb"));
    const trailer = await readTrailer(`${dir}/${rdb.name}`);
    const header = trailer.extra.watchHistory as { count: number };
    assert.ok(header.count >= 1000, JSON.stringify(header));
    assert.ok(trailer.binary.length >= 1000 * value.length, `${trailer.binary.length} bytes`);
    // And a restart reads it back from there: the node comes up and serves.
    await node.stop();
    await node.spawn();
    assert.equal(await cluster.call(["GET", "k999"], 20_000), value);
  } finally {
    await cluster.destroy();
  }
});

Deno.test("CONFIG RESETSTAT clears the child's counters, also in the middle of a snapshot, which still completes", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const client = await node.client();
    const stats = await node.client();
    // A dataset whose BGSAVE takes a while (DEBUG POPULATE in the child, not through the log).
    await client.call("RAFT.DEBUG", "EXEC", "DEBUG", "POPULATE", "300000", "key", "100");
    assert.equal(await client.call("SET", "a", "1"), "OK");
    assert.match(String(await stats.call("INFO", "commandstats")), /^cmdstat_set:calls=1,/m);
    assert.equal(await stats.call("CONFIG", "RESETSTAT"), "OK");
    assert.doesNotMatch(String(await stats.call("INFO", "commandstats")), /^cmdstat_set:/m);
    // A first snapshot counts one save; the second's BGSAVE finds the count reset while it runs,
    // and (its entries in the same second as the first's) the same last save time: counters
    // cannot tell that it saved.
    await new Promise((r) => setTimeout(r, 1000 - Date.now() % 1000));
    assert.equal(await client.call("SET", "b", "2"), "OK");
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    assert.equal(await client.call("SET", "c", "3"), "OK");
    const second = client.call("RAFT.DEBUG", "COMPACT");
    let resetDuringSave = false;
    for (let attempt = 0; attempt < 2000 && !resetDuringSave; attempt++) {
      const persistence = String(await stats.call("INFO", "persistence"));
      if (infoField(persistence, "rdb_bgsave_in_progress") === "1") {
        assert.equal(await stats.call("CONFIG", "RESETSTAT"), "OK");
        resetDuringSave = true;
      } else await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(resetDuringSave, "the second snapshot's BGSAVE was seen running");
    assert.equal(await second, "OK");
    const info = String(await stats.call("INFO", "raft"));
    assert.equal(infoField(info, "raft_snapshots_created"), "2");
    assert.equal(await client.call("GET", "c"), "3");
    client.close();
    stats.close();
  } finally {
    await cluster.destroy();
  }
});

/**
 * For each snapshot a node takes while 1 KB SETs arrive one at a time, the number of the SET that
 * started it: each SET is sent after any snapshot in progress has ended, so every snapshot starts
 * at the SET that crossed its point. SETs are counted rather than log indexes because the node's
 * own small entries (clock ticks) between them grow in number when the machine is slow.
 */
async function snapshotSetNumbers(spreadPercent: number, snapshots: number): Promise<number[]> {
  const cluster = await TestCluster.start(1, [
    "--log-max-bytes",
    "64000",
    "--snapshot-spread-percent",
    String(spreadPercent),
  ]);
  try {
    const client = await cluster.nodes[0].client();
    const indexes: number[] = [];
    const setNumbers: number[] = [];
    const value = "s".repeat(1000);
    for (let i = 0; i < 80 * snapshots && indexes.length < snapshots; i++) {
      assert.equal(await client.call("SET", `k${i % 100}`, value), "OK");
      const info = await waitFor(async () => {
        const info = await client.call("INFO", "raft");
        return infoField(info, "raft_snapshot_in_progress") === "no" && info;
      }, "the snapshot in progress to end");
      const index = Number(infoField(info, "raft_snapshot_last_idx"));
      if (index > 0 && index !== indexes.at(-1)) {
        indexes.push(index);
        setNumbers.push(i);
      }
    }
    client.close();
    return setNumbers;
  } finally {
    await cluster.destroy();
  }
}

Deno.test("each snapshot starts at a point drawn below log-max-file-size (--snapshot-spread-percent), so nodes do not all compact at once; 0 is the limit every time", async () => {
  // The trigger is checked at each tick (20 ms), so a snapshot starts up to a tick's worth of SETs
  // after its point: a gap is its point plus that lag, which grows on a slow machine. The node's
  // own small entries (clock ticks) move the point by a SET or so.
  const gaps = (setNumbers: number[]) => setNumbers.slice(1).map((n, i) => n - setNumbers[i]);
  const exact = gaps(await snapshotSetNumbers(0, 4));
  assert.equal(exact.length, 3, `${exact}`);
  assert.ok(exact.every((gap) => gap >= 56 && gap <= 80), `spread 0: ~62 SETs of 1 KB: ${exact}`);
  const atLimit = Math.min(...exact);

  const spread = gaps(await snapshotSetNumbers(50, 17));
  assert.equal(spread.length, 16, `${spread}`);
  for (const gap of spread) {
    assert.ok(gap >= atLimit / 2 - 3 && gap <= Math.max(...exact) + 10, `${gap} in ${spread}`);
  }
  // Sixteen draws all in the top 42% of the range (less with lag): about one chance in 6,000.
  assert.ok(Math.min(...spread) < atLimit - 10, `no early snapshot: ${spread}`);
});
