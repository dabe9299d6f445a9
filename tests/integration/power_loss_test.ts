/**
 * @module
 * A power cut on every node at once, under concurrent writers: each node is killed with its
 * redis child and loses what its disk had not made durable (tests/helpers/power_loss.c notes
 * every write and sync of the node's files and directories and every create, rename and removal,
 * and gives each node a disk of its own speed; tests/helpers/power_loss.ts undoes what a real disk
 * would have lost). Small logs in small segments keep snapshots, compactions and segment removals
 * going all through. Every write acknowledged before the cut must be there after the restart: an
 * acknowledgement promises the write is on the disks of a majority, not in their page caches,
 * which a process crash (kill -9) alone cannot test. Cuts alternate the leader between the middle
 * disk and the fastest, and the fastest node boots last. Checked by breaking, each failing 2 or 3
 * runs of 2 or 3: the leader counting itself before its own sync (and before: followers
 * acknowledging before theirs, 4 of 4), the snapshot metadata's rename left unsynced, small files
 * replaced without a directory sync, the data directory created without syncing its parent.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";
import { buildPreloadLibrary } from "../helpers/preload_library.ts";
import { RespError } from "../helpers/resp_client.ts";
import { cutPower, powerLossEnv } from "../helpers/power_loss.ts";

const writerCount = 6;
const writesPerWriterMaxCount = 20_000;
/** Power cuts made at least, and at most while none has lost written data yet. */
const cutsMinCount = 6;
const cutsMaxCount = 8;
const mgetKeysMaxCount = 500;
/** Slow disks: written data stays unsynced this long at each sync, where a cut finds it. */
const syncDelaysUs = [12_000, 2_000, 30_000];
/** Small logs in small segments: snapshots, compactions and removals all through the test. */
const logMaxBytes = 4_000;
const logSegmentMaxBytes = 1_000;

/**
 * Moves the leadership to `node`. Cuts alternate between a leader with the middle disk (one
 * follower syncs well before it, one well after: a leader that counted itself before its own sync
 * would acknowledge what only the fast follower holds) and one with the fastest (followers that
 * acknowledged before their sync would leave it alone with the write).
 */
async function leadOn(cluster: TestCluster, node: NodeProcess): Promise<NodeProcess> {
  const nodeId = infoField(await cluster.info(node), "raft_node_id")!;
  // A leader elected a moment ago may refuse the transfer until it serves: ask again.
  return await waitFor(async () => {
    const leader = await cluster.leader();
    if (leader === node) return node;
    const client = await leader.client();
    try {
      await client.call("RAFT.TRANSFER_LEADER", nodeId).catch(() => {});
    } finally {
      client.close();
    }
    return undefined;
  }, `the transfer to ${node.addr}`);
}

/** Writes unique keys to the leader until stopped or cut off; returns those acknowledged. */
async function writeUntilCut(
  node: NodeProcess,
  prefix: string,
  stopped: () => boolean,
): Promise<string[]> {
  const acknowledged: string[] = [];
  const client = await node.client();
  try {
    for (let seq = 0; seq < writesPerWriterMaxCount && !stopped(); seq++) {
      const key = `${prefix}:${seq}`;
      const reply = await client.call("SET", key, key).catch((error) => error);
      if (reply instanceof RespError && reply.message.startsWith("CLUSTERDOWN")) {
        await new Promise((resolve) => setTimeout(resolve, 20)); // not serving yet: not run
        continue;
      }
      if (reply !== "OK") break; // cut off: the outcome of this one is unknown
      acknowledged.push(key);
    }
  } finally {
    client.close();
  }
  return acknowledged;
}

Deno.test({
  name: "a power cut on every node at once under load loses no acknowledged write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "redisraft-powerloss-" });
    const nodes: NodeProcess[] = [];
    try {
      const library = await buildPreloadLibrary("power_loss", root);
      const journals = [0, 1, 2].map((slot) => `${root}/node${slot}.journal`);
      for (const [slot, journal] of journals.entries()) {
        const dir = `${root}/node${slot}`;
        nodes.push(
          await NodeProcess.start({
            dir,
            args: [
              ...fastTimers,
              "--log-max-bytes",
              String(logMaxBytes),
              "--log-segment-max-bytes",
              String(logSegmentMaxBytes),
            ],
            env: { LD_PRELOAD: library, ...powerLossEnv(journal, dir, syncDelaysUs[slot]) },
          }),
        );
      }
      const cluster = await TestCluster.form(nodes);
      const acknowledged: string[] = [];
      let lostBytes = 0;
      let undoneChanges = 0;
      for (let cut = 0; cut < cutsMaxCount && (cut < cutsMinCount || lostBytes === 0); cut++) {
        const leader = await leadOn(cluster, nodes[cut % 2]);
        let stopped = false;
        const writers = Array.from(
          { length: writerCount },
          (_, writer) => writeUntilCut(leader, `cut${cut}:w${writer}`, () => stopped),
        );
        await new Promise((resolve) => setTimeout(resolve, 300 + 200 * cut));
        // The cut: every node and its child at once, then what their disks had not synced.
        await Promise.all(nodes.map((node) => node.crash()));
        await Promise.all(nodes.map((node) => node.killStaleChild()));
        stopped = true;
        for (const keys of await Promise.all(writers)) acknowledged.push(...keys);
        for (const [slot, journal] of journals.entries()) {
          const lost = await cutPower(journal, nodes[slot].dir);
          lostBytes += lost.lostBytes;
          undoneChanges += lost.undoneChanges;
        }

        // The power comes back; the node with the fastest disk (the one most likely to be alone
        // with an entry) boots last, once the other two have elected a leader without it.
        const [fastest] = nodes.filter((_, slot) =>
          syncDelaysUs[slot] === Math.min(...syncDelaysUs)
        );
        const others = nodes.filter((node) => node !== fastest);
        await Promise.all(others.map((node) => node.spawn()));
        await cluster.leader(15_000, others);
        await fastest.spawn();
        for (let i = 0; i < acknowledged.length; i += mgetKeysMaxCount) {
          const keys = acknowledged.slice(i, i + mgetKeysMaxCount);
          const values = await cluster.call(["MGET", ...keys], 30_000) as (string | null)[];
          const missing = keys.filter((key, k) => values[k] !== key);
          assert.deepEqual(missing, [], `after cut ${cut}: acknowledged writes lost`);
        }
      }
      assert.ok(acknowledged.length > 200, `${acknowledged.length} writes acknowledged`);
      // The cuts really took data that was written but not synced.
      assert.ok(lostBytes > 0, "the power cuts lost no written data");
      console.log(`power cuts: ${lostBytes} bytes, ${undoneChanges} directory changes lost`);
      await cluster.waitConverged(30_000);
    } finally {
      await Promise.all(nodes.map((node) => node.destroy()));
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
