/**
 * @module
 * A leader whose disk fills up (its data directory on a small tmpfs, mounted by the test) stops
 * with a fatal error instead of acknowledging writes it could not log; the other two elect a
 * leader that still has every acknowledged write; once the disk has room again the node restarts
 * from its log and converges with the others. The disk fills either while the log writes zeros
 * ahead of itself (preallocation) or, without preallocation, in the middle of a record, which the
 * restart must cut off as a torn tail. Needs root (mount).
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { fastTimers, infoField, TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/resp_client.ts";

const smallDiskBytes = 6 * 1024 * 1024;
const roomyDiskBytes = 64 * 1024 * 1024;
const valueBytes = 4096;
/** Well past what fits in the small disk: the leader must have failed long before. */
const writesMaxCount = 4 * smallDiskBytes / valueBytes;

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const valueOf = (i: number) => `${i}:`.padEnd(valueBytes, "v");

async function leaderRunsOutOfDisk(nodeArgs: string[], tornRecord: boolean): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redisraft-diskfull-" });
  const mountPoint = `${root}/small`;
  await Deno.mkdir(mountPoint);
  await run("mount", ["-t", "tmpfs", "-o", `size=${smallDiskBytes}`, "tmpfs", mountPoint]);
  const nodes: NodeProcess[] = [];
  try {
    const args = [...fastTimers, ...nodeArgs];
    nodes.push(await NodeProcess.start({ dir: `${mountPoint}/n0`, args }));
    for (let i = 1; i < 3; i++) nodes.push(await NodeProcess.start({ args }));
    const cluster = new TestCluster(nodes);
    const [full, ...others] = nodes;
    const first = await full.client();
    assert.match(String(await first.call("RAFT.CLUSTER", "INIT")), /^OK /);
    first.close();
    for (const node of others) await cluster.join(node, full);
    await waitFor(
      async () => infoField(await cluster.info(full), "raft_num_voting_nodes") === "3",
      "three voters",
    );

    // Write to the leader until it stops; remember what it acknowledged.
    const exited = full.process!.status;
    let stopped = false;
    exited.then(() => stopped = true);
    const acknowledged: number[] = [];
    const client = await full.client();
    for (let i = 0; i < writesMaxCount && !stopped; i++) {
      const reply = await client.call("SET", `k${i}`, valueOf(i)).catch((e) => e);
      if (reply === "OK") acknowledged.push(i);
      else if (!(reply instanceof RespError) && !(reply instanceof Error)) {
        assert.fail(`SET k${i}: ${reply}`);
      }
    }
    client.close();
    const status = await Promise.race([
      exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
    ]);
    assert.ok(status, "the leader with a full disk stopped");
    assert.equal(status.code, 1);
    assert.match(await full.log(), /FATAL.*No space left on device/);
    assert.ok(acknowledged.length > 100, `${acknowledged.length} writes acknowledged first`);
    await full.stop(); // its redis child, if the node left it behind

    // Every acknowledged write is on the new leader; the cluster goes on with two nodes.
    const leader = await cluster.leader(15_000, others);
    const check = await leader.client();
    try {
      for (const i of acknowledged) assert.equal(await check.call("GET", `k${i}`), valueOf(i));
      assert.equal(await check.call("SET", "after", "failover"), "OK");
    } finally {
      check.close();
    }

    // With room again, the node restarts from its log and catches up.
    await run("mount", ["-o", `remount,size=${roomyDiskBytes}`, mountPoint]);
    await full.spawn();
    const [index] = await cluster.waitConverged(30_000);
    // Without zeros written ahead, the full disk tore the last record: the restart cut it (the
    // node's log is complete once it stopped).
    await full.stop();
    if (tornRecord) assert.match(await full.log(), /log recovery cut \d+ bytes at offset/);
    assert.ok(index > acknowledged.length, `all three applied index ${index}`);
  } finally {
    await Promise.all(nodes.map((node) => node.destroy()));
    await run("umount", [mountPoint]).catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "a leader out of disk space (writing the log's zeros ahead) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => leaderRunsOutOfDisk([], false),
});

Deno.test({
  name: "a leader out of disk space (in the middle of a record) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => leaderRunsOutOfDisk(["--log-preallocate-bytes", "0"], true),
});
