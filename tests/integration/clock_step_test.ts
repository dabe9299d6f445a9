/**
 * @module
 * Request timeouts run on the monotonic clock. The leader's wall clock is stepped back an hour
 * (libfaketime, loaded into that node only, reading its offset from a file the test rewrites)
 * while a write and a read wait on it for followers that are paused: both must still be answered
 * `-TIMEOUT` after the request timeout, not an hour later. Deadlines taken from the wall clock
 * hold them for the whole step.
 */
import assert from "node:assert/strict";
import { NodeProcess, within } from "../helpers/node_process.ts";
import { fastTimers, TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/resp_client.ts";

const requestTimeoutMs = 2000;
/** Well beyond the request timeout, far below the step. */
const replyWaitMs = 4 * requestTimeoutMs;

/** libfaketime's multi-threaded build, where Debian's `libfaketime` package puts it. */
function findLibfaketime(): string | undefined {
  for (const arch of Deno.readDirSync("/usr/lib")) {
    const path = `/usr/lib/${arch.name}/faketime/libfaketimeMT.so.1`;
    try {
      Deno.statSync(path);
      return path;
    } catch { /* not this one */ }
  }
  return undefined;
}

Deno.test({
  name: "a write and a read waiting on a leader whose wall clock steps back time out on time",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const libfaketime = findLibfaketime();
    assert.ok(libfaketime, "libfaketime is needed (apt-get install libfaketime; make test does)");
    const root = await Deno.makeTempDir({ prefix: "redisraft-clock-" });
    const offsetFile = `${root}/clock-offset`;
    await Deno.writeTextFile(offsetFile, "+0");
    const faketimeEnv = {
      LD_PRELOAD: libfaketime,
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      FAKETIME_CACHE_DURATION: "1",
      DONT_FAKE_MONOTONIC: "1",
    };
    // The redis child keeps the real clock: libfaketime hangs redis-server at start.
    const realClockRedis = `${root}/redis-server-real-clock`;
    await Deno.writeTextFile(
      realClockRedis,
      '#!/bin/sh\nexec env -u LD_PRELOAD redis-server "$@"\n',
    );
    await Deno.chmod(realClockRedis, 0o755);
    const nodes: NodeProcess[] = [];
    const paused: number[] = [];
    try {
      // The leader must not notice its followers are gone before the requests time out.
      const leaderTimers = ["--election-timeout-ms", "60000", "--heartbeat-interval-ms", "50"];
      const args = ["--request-timeout-ms", String(requestTimeoutMs)];
      nodes.push(
        await NodeProcess.start({
          args: [...leaderTimers, ...args, "--redis-server", realClockRedis],
          env: faketimeEnv,
        }),
      );
      for (let i = 1; i < 3; i++) {
        nodes.push(await NodeProcess.start({ args: [...fastTimers, ...args] }));
      }
      await TestCluster.form(nodes);
      const [leader, ...followers] = nodes;
      const client = await leader.client();
      assert.equal(await client.call("SET", "k", "before"), "OK");

      for (const node of followers) {
        Deno.kill(node.process!.pid, "SIGSTOP");
        paused.push(node.process!.pid);
      }
      const writer = await leader.client();
      const write = within(writer.call("SET", "k", "during").catch((e) => e), replyWaitMs);
      const read = within(client.call("GET", "k").catch((e) => e), replyWaitMs);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Deno.writeTextFile(offsetFile, "-1h");

      const [written, got] = await Promise.all([write, read]);
      writer.close();
      client.close();
      assert.ok(written instanceof RespError, `SET answered ${String(written)}`);
      assert.match(written.message, /^TIMEOUT/);
      assert.ok(got instanceof RespError, `GET answered ${String(got)}`);
      assert.match(got.message, /^TIMEOUT/);
    } finally {
      for (const pid of paused) {
        try {
          Deno.kill(pid, "SIGCONT");
        } catch { /* gone */ }
      }
      await Promise.all(nodes.map((node) => node.destroy()));
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
