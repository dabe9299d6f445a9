/**
 * @module
 * A node whose disk fills up (its data directory on a small tmpfs, mounted by the test) stops
 * with a fatal error instead of acknowledging writes it could not log. A leader: the other two
 * elect a leader that still has every acknowledged write. A follower: the other two go on
 * acknowledging every write. Once the disk has room again the node restarts from its log and
 * converges with the others. The disk fills either while the log writes zeros ahead of itself
 * (preallocation) or, without preallocation, in the middle of a record, which the restart must
 * cut off as a torn tail. Needs root (mount).
 */
import assert from "node:assert/strict";
import { NodeProcess, within } from "../helpers/node_process.ts";
import { fastTimers, TestCluster } from "../helpers/test_cluster.ts";
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

interface DiskFullCase {
  /** Whose data directory is on the small disk: the first node, which leads, or a follower. */
  full: "leader" | "follower";
  nodeArgs: string[];
  /** The disk fills in the middle of a record (no zeros written ahead), which recovery cuts. */
  tornRecord: boolean;
}

async function runOutOfDisk({ full: whose, nodeArgs, tornRecord }: DiskFullCase): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redisraft-diskfull-" });
  const mountPoint = `${root}/small`;
  await Deno.mkdir(mountPoint);
  await run("mount", ["-t", "tmpfs", "-o", `size=${smallDiskBytes}`, "tmpfs", mountPoint]);
  const nodes: NodeProcess[] = [];
  try {
    const args = [...fastTimers, ...nodeArgs];
    const fullSlot = whose === "leader" ? 0 : 1;
    for (let slot = 0; slot < 3; slot++) {
      // The full node's output is logged off the small disk, so that all of it is kept.
      const [dir, logPath] = slot === fullSlot
        ? [`${mountPoint}/n${slot}`, `${root}/n${slot}.log`]
        : [undefined, undefined];
      nodes.push(await NodeProcess.start({ dir, args, logPath }));
    }
    const cluster = await TestCluster.form(nodes);
    const [first] = nodes;
    const full = nodes[fullSlot];

    // Write to the first node (the leader) until the full one stops; remember what was
    // acknowledged.
    const exited = full.process!.status;
    let stopped = false;
    exited.then(() => stopped = true);
    const acknowledged: number[] = [];
    let attempts = 0;
    const client = await first.client();
    for (let i = 0; i < writesMaxCount && !stopped; i++, attempts++) {
      const reply = await client.call("SET", `k${i}`, valueOf(i)).catch((e) => e);
      if (reply === "OK") acknowledged.push(i);
      else if (!(reply instanceof RespError) && !(reply instanceof Error)) {
        assert.fail(`SET k${i}: ${reply}`);
      }
    }
    client.close();
    const status = await within(exited, 10_000);
    assert.ok(status !== "timed out", `the ${whose} with a full disk stopped`);
    assert.equal(status.code, 1);
    assert.match(await full.log(), /FATAL.*No space left on device/);
    assert.ok(acknowledged.length > 100, `${acknowledged.length} writes acknowledged first`);
    // A follower's disk is not the cluster's: the other two acknowledged every write.
    if (whose === "follower") assert.equal(acknowledged.length, attempts);
    await full.stop(); // its redis child, if the node left it behind

    // Every acknowledged write is on the (new) leader; the cluster goes on with two nodes. Through
    // the cluster client, which waits while a new leader is not serving yet (CLUSTERDOWN).
    assert.equal(await cluster.call(["SET", "after", "failure"]), "OK");
    for (const i of acknowledged) assert.equal(await cluster.call(["GET", `k${i}`]), valueOf(i));

    // With room again, the node restarts from its log and catches up.
    await run("mount", ["-o", `remount,size=${roomyDiskBytes}`, mountPoint]);
    await full.spawn();
    const [index] = await cluster.waitConverged(30_000);
    assert.ok(index > acknowledged.length, `all three applied index ${index}`);
    // The node's log is complete once it stopped.
    await full.stop();
    if (tornRecord) assert.match(await full.log(), /log recovery cut \d+ bytes at offset/);
  } finally {
    await Promise.all(nodes.map((node) => node.destroy()));
    await run("umount", [mountPoint]).catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

const noZerosAhead = ["--log-preallocate-bytes", "0"];

Deno.test({
  name: "a leader out of disk space (writing zeros ahead) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk({ full: "leader", nodeArgs: [], tornRecord: false }),
});

Deno.test({
  name: "a leader out of disk space (in the middle of a record) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk({ full: "leader", nodeArgs: noZerosAhead, tornRecord: true }),
});

Deno.test({
  name: "a follower out of disk space (in the middle of a record) stops, writes go on, it recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk({ full: "follower", nodeArgs: noZerosAhead, tornRecord: true }),
});
