/**
 * Integration: a redis child that stops answering (SIGSTOP) leaves no client waiting past the
 * request timeout: writes applied to it, reads and commands relayed to it answer `-TIMEOUT`, and
 * once it runs again its late replies go nowhere (the next replies on the same connection are
 * the right ones).
 */
import assert from "node:assert/strict";
import { TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/reply_frames.ts";

const requestTimeoutMs = 1500;
const timedOut = "TIMEOUT request timed out; the outcome is unknown";

Deno.test("a stopped child: clients get -TIMEOUT after the request timeout, then the right replies", async () => {
  const cluster = await TestCluster.start(3, ["--request-timeout-ms", String(requestTimeoutMs)]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    assert.equal(await cluster.call(["SET", "k", "old"]), "OK");
    const childPid = Number(Deno.readTextFileSync(`${leader.dir}/redis/redis.pid`).trim());
    assert.ok(Deno.readTextFileSync(`/proc/${childPid}/cmdline`).includes(leader.dir));
    Deno.kill(childPid, "SIGSTOP");
    stoppedPid = childPid;

    const client = await leader.client();
    const other = await leader.client();
    try {
      const startedMs = performance.now();
      const [replies, otherReply] = await Promise.all([
        // A write (committed by the others, applied to the stopped child), a read, relayed ones.
        client.pipeline([
          ["SET", "k", "new"],
          ["GET", "k"],
          ["ECHO", "relayed"],
          ["INFO", "keyspace"],
          ["CONFIG", "GET", "maxmemory"],
        ]),
        other.call("SET", "k2", "v2"),
      ]);
      const waitedMs = performance.now() - startedMs;
      for (const reply of [...replies, otherReply]) {
        assert.ok(reply instanceof RespError, `a timeout, not ${reply}`);
        assert.equal(reply.message, timedOut);
      }
      assert.ok(waitedMs >= requestTimeoutMs - 50, `answered after ${waitedMs} ms`);
      assert.ok(waitedMs < requestTimeoutMs + 2000, `answered after ${waitedMs} ms`);

      Deno.kill(childPid, "SIGCONT");
      stoppedPid = 0;
      // The child answers what it was sent; those replies are dropped, and the connection's
      // next replies are its own (the writes above were committed, so they show).
      assert.deepEqual(
        await client.pipeline([["GET", "k"], ["GET", "k2"], ["ECHO", "after"], [
          "CONFIG",
          "GET",
          "maxmemory",
        ]]),
        ["new", "v2", "after", ["maxmemory", "0"]],
      );
      assert.deepEqual(await other.pipeline([["ECHO", "x"], ["GET", "k"]]), ["x", "new"]);
    } finally {
      client.close();
      other.close();
    }
    await cluster.waitConverged();
  } finally {
    if (stoppedPid) Deno.kill(stoppedPid, "SIGCONT");
    await cluster.destroy();
  }
});

Deno.test("a stopped child: a SUBSCRIBE gets -TIMEOUT and its connection is closed", async () => {
  const cluster = await TestCluster.start(1, ["--request-timeout-ms", String(requestTimeoutMs)]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    const childPid = Number(Deno.readTextFileSync(`${leader.dir}/redis/redis.pid`).trim());
    const subscriber = await leader.client();
    try {
      assert.deepEqual(await subscriber.call("SUBSCRIBE", "first"), ["subscribe", "first", 1]);
      Deno.kill(childPid, "SIGSTOP");
      stoppedPid = childPid;
      const startedMs = performance.now();
      const reply = await subscriber.call("SUBSCRIBE", "second");
      const waitedMs = performance.now() - startedMs;
      assert.ok(reply instanceof RespError, `a timeout, not ${reply}`);
      assert.equal(reply.message, timedOut);
      assert.ok(waitedMs >= requestTimeoutMs - 50, `answered after ${waitedMs} ms`);
      assert.ok(await subscriber.waitClosed(), "what it is subscribed to is unknown: closed");
    } finally {
      subscriber.close();
    }
    Deno.kill(childPid, "SIGCONT");
    stoppedPid = 0;
    assert.equal(await cluster.call(["ECHO", "still serving"]), "still serving");
  } finally {
    if (stoppedPid) Deno.kill(stoppedPid, "SIGCONT");
    await cluster.destroy();
  }
});
