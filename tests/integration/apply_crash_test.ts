/**
 * A node never hands its redis child an entry its own log has not written: a follower killed
 * (test crash point) right after applying a Ready whose committed entries include ones it has
 * just received and not yet written leaves a child no further than its log on disk. Otherwise a
 * READONLY read could see state that the node, restarted from its log, no longer has.
 */
import assert from "node:assert/strict";
import { SegmentedLog } from "../../src/storage/segmented_log.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

const incrsCount = 400;

/** How many `INCR counter` entries the log in `dir` holds (as a restart would read it). */
async function incrsInLog(dir: string): Promise<number> {
  const log = new SegmentedLog({ dir });
  await log.open();
  try {
    const records = await log.read(log.firstIndex, log.lastIndex);
    const decoder = new TextDecoder("latin1");
    return records.filter((r) => decoder.decode(r.data).includes("\r\nINCR\r\n")).length;
  } finally {
    await log.close();
  }
}

/** `GET counter` on the redis child a crashed node left running, through its unix socket. */
async function childCounter(dir: string): Promise<number> {
  const output = await new Deno.Command("redis-cli", {
    args: ["-s", `${dir}/redis/redis.sock`, "GET", "counter"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success, `redis-cli: ${new TextDecoder().decode(output.stderr)}`);
  return Number(text);
}

Deno.test("a follower killed between applying and writing received entries applied none unwritten", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    assert.equal(await cluster.call(["INCR", "counter"]), 1);
    await cluster.waitConverged();
    await follower.stop();
    const client = await leader.client();
    await client.pipeline(Array.from({ length: incrsCount - 1 }, () => ["INCR", "counter"]));
    client.close();
    // Back, the follower receives the entries it missed together with their commit: it dies
    // after the apply loop and the child are done with that Ready's committed entries.
    const args = follower.options.args!;
    follower.options.args = [...args, "--crash-at", "apply-before-log-write"];
    assert.equal(await follower.runUntilExit(), 137, "the follower died at the crash point");
    follower.options.args = args;
    const applied = await childCounter(follower.dir);
    const written = await incrsInLog(follower.dir);
    assert.ok(written < incrsCount, `the crash came before the log had them all (${written})`);
    assert.ok(applied <= written, `the child applied ${applied} INCRs, the log holds ${written}`);
    await follower.spawn();
    await cluster.waitConverged(30_000);
    const f = await follower.client();
    assert.equal(await f.call("RAFT.DEBUG", "EXEC", "GET", "counter"), String(incrsCount));
    f.close();
  } finally {
    await cluster.destroy();
  }
});
