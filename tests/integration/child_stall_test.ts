/**
 * Integration: a redis child that stops answering (SIGSTOP) leaves no client waiting past the
 * request timeout: writes applied to it, reads and commands relayed to it answer `-TIMEOUT`, and
 * once it runs again its late replies go nowhere (the next replies on the same connection are
 * the right ones).
 */
import assert from "node:assert/strict";
import { TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/reply_frames.ts";
import { waitFor } from "../helpers/node_process.ts";

const requestTimeoutMs = 1500;
const timedOut = "TIMEOUT request timed out; the outcome is unknown";

Deno.test("a stopped child: clients get -TIMEOUT after the request timeout, then the right replies", async () => {
  const cluster = await TestCluster.start(3, ["--request-timeout-ms", String(requestTimeoutMs)]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    assert.equal(await cluster.call(["SET", "k", "old"]), "OK");
    const childPid = leader.childPid();
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
    const childPid = leader.childPid();
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

Deno.test("a leader whose child stops hands leadership to another node, and the cluster goes on", async () => {
  const cluster = await TestCluster.start(3, ["--child-stall-timeout-ms", "1000"]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    const childPid = leader.childPid();
    Deno.kill(childPid, "SIGSTOP");
    stoppedPid = childPid;
    // A write the stopped child would have to answer: from then on the leader waits on it.
    const stuck = await leader.client();
    try {
      await stuck.sendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nstuck\r\n");
      const others = cluster.nodes.filter((node) => node !== leader);
      const startedMs = performance.now();
      const next = await cluster.leader(10_000, others);
      const tookMs = performance.now() - startedMs;
      assert.ok(tookMs < 6_000, `another node led after ${tookMs} ms`);
      assert.equal(await cluster.call(["SET", "after", "handoff"]), "OK");
      assert.equal(await cluster.call(["GET", "k"]), "stuck", "the first write committed");
      assert.notEqual(next, leader);
    } finally {
      stuck.close();
    }
    Deno.kill(childPid, "SIGCONT");
    stoppedPid = 0;
    await cluster.waitConverged();
  } finally {
    if (stoppedPid) Deno.kill(stoppedPid, "SIGCONT");
    await cluster.destroy();
  }
});

Deno.test("a leader whose child stops reading refuses new writes past --apply-queue-max-bytes", async () => {
  // One node: nobody to hand leadership to.
  const cluster = await TestCluster.start(1, [
    "--apply-queue-max-bytes",
    String(256 * 1024),
    "--request-timeout-ms",
    "60000",
    "--child-stall-timeout-ms",
    "1000",
  ]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    const childPid = leader.childPid();
    Deno.kill(childPid, "SIGSTOP");
    stoppedPid = childPid;
    const writer = await leader.client();
    const other = await leader.client();
    try {
      const value = "v".repeat(64 * 1024);
      const writes = Array.from({ length: 40 }, (_, i) => ["SET", `big${i}`, value]);
      const written = writer.pipeline(writes); // committed, waiting for the child
      written.catch(() => {}); // if the test fails first, the connection closes under it
      // Once the child has stalled for a while the node says so (and has nobody to hand over
      // to); by then the writes are long in the log and handed to the child.
      await waitFor(
        async () => (await leader.log()).includes("no other node to lead"),
        "a warning",
      );
      const refused = await other.call("SET", "small", "1");
      assert.ok(refused instanceof RespError, `refused, not ${refused}`);
      assert.equal(refused.message, "TRYAGAIN this node's redis is behind (apply-queue-max-bytes)");

      Deno.kill(childPid, "SIGCONT");
      stoppedPid = 0;
      // The writes taken before the bound was passed went through; any after it were refused,
      // and a refused write is not in the log.
      const replies = await written;
      for (const [i, reply] of replies.entries()) {
        if (reply === "OK") continue;
        assert.ok(reply instanceof RespError && reply.message.startsWith("TRYAGAIN"), `${reply}`);
        assert.equal(await other.call("EXISTS", `big${i}`), 0);
      }
      assert.equal(replies[0], "OK");
      assert.equal(await other.call("SET", "small", "2"), "OK", "taken again once it caught up");
    } finally {
      writer.close();
      other.close();
    }
  } finally {
    if (stoppedPid) Deno.kill(stoppedPid, "SIGCONT");
    await cluster.destroy();
  }
});
