/**
 * The clock library holds the clock for Redis's main thread only. A child whose clock is held
 * behind the real one (it is, between writes) must not spin: jemalloc's background thread sleeps
 * until a deadline it computes from gettimeofday, which the kernel compares with the real clock;
 * with the held clock each of its sleeps ended at once and it took a whole core.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Logger } from "../../../src/node/logger.ts";
import { PipelinedConnection } from "../../../src/redis/pipelined_connection.ts";
import { RedisChild } from "../../../src/redis/redis_child.ts";
import { command } from "./rdb_test_helpers.ts";

const clockLib = join(import.meta.dirname!, "../../../.tools/raftclock.so");
/** 2001-09-09: far behind the real clock. */
const heldMs = 1_000_000_000_000;
const idleWindowMs = 3_000;

/** User plus system CPU time of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

Deno.test("a child whose clock is held in the past stays idle when idle", async () => {
  const root = await Deno.makeTempDir({ prefix: "redisraft-clock-" });
  const child = new RedisChild(
    { redisServer: "redis-server", dir: join(root, "child"), startTimeoutMs: 10_000, clockLib },
    new Logger("warning"),
  );
  assert.ok(child.hasClock, `${clockLib} is built by scripts/setup.sh`);
  try {
    await child.start(undefined, [], heldMs);
    const connection = await PipelinedConnection.connect(child.socketPath);
    try {
      assert.deepEqual(await command(connection, "TIME"), [String(heldMs / 1000), "0"]);
      // Memory allocated and freed: jemalloc's background thread has purging to schedule.
      const value = "v".repeat(1024);
      for (let batch = 0; batch < 20; batch++) {
        const args = ["MSET"];
        for (let i = 0; i < 1000; i++) args.push(`k${batch}:${i}`, value);
        assert.equal(await command(connection, ...args), "OK");
      }
      assert.equal(await command(connection, "FLUSHALL"), "OK");
      assert.deepEqual(await command(connection, "TIME"), [String(heldMs / 1000), "0"]);
    } finally {
      connection.close();
    }
    const pid = child.pid!;
    const before = await cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, idleWindowMs));
    const spentMs = (await cpuTicks(pid) - before) * 10; // 100 ticks a second
    assert.ok(
      spentMs < idleWindowMs / 4,
      `the idle child used ${spentMs} ms of CPU in ${idleWindowMs} ms`,
    );
  } finally {
    await child.stop();
    await Deno.remove(root, { recursive: true });
  }
});
