/**
 * Integration: WAIT numreplicas timeout answers how many other members hold the connection's
 * last write (acknowledged, so persisted), as Redis's WAIT counts replicas: at once when enough
 * do, at the timeout with fewer when a follower is stopped; in pipeline order; Redis's errors;
 * MOVED on a follower; refused inside MULTI.
 */
import assert from "node:assert/strict";
import { RespClient, RespError } from "../helpers/resp_client.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { waitFor } from "../helpers/node_process.ts";

Deno.test("WAIT counts the members holding the connection's writes, with Redis's syntax", async () => {
  const cluster = await TestCluster.start(3);
  const clients: RespClient[] = [];
  try {
    const leader = await cluster.leader();
    const client = await RespClient.connect(leader.port);
    clients.push(client);
    assert.equal(await client.call("SET", "k", "v1"), "OK");
    assert.equal(await client.call("WAIT", "2", "5000"), 2);
    assert.equal(await client.call("WAIT", "0", "0"), 2, "already met: answered at once");

    // Pipelined after a write, WAIT counts that write (it follows it in the session's order).
    const replies = await client.pipeline([["SET", "k", "v2"], ["WAIT", "2", "5000"]]);
    assert.deepEqual(replies, ["OK", 2]);

    const follower = cluster.nodes.find((n) => n !== leader)!;
    Deno.kill(follower.process!.pid, "SIGSTOP");
    try {
      assert.equal(await client.call("SET", "k", "v3"), "OK");
      assert.equal(await client.call("WAIT", "1", "5000"), 1);
      const startedMs = performance.now();
      assert.equal(await client.call("WAIT", "2", "400"), 1, "the stopped follower lacks it");
      const waitedMs = performance.now() - startedMs;
      assert.ok(waitedMs >= 350, `waited until the timeout (${waitedMs.toFixed(0)} ms)`);
    } finally {
      Deno.kill(follower.process!.pid, "SIGCONT");
    }
    assert.equal(await client.call("WAIT", "2", "10000"), 2, "caught up after SIGCONT");

    // Redis's errors.
    assert.deepEqual(
      await client.call("WAIT", "1"),
      new RespError("ERR wrong number of arguments for 'wait' command"),
    );
    assert.deepEqual(
      await client.call("WAIT", "x", "0"),
      new RespError("ERR value is not an integer or out of range"),
    );
    assert.deepEqual(
      await client.call("WAIT", "1", "x"),
      new RespError("ERR timeout is not an integer or out of range"),
    );
    assert.deepEqual(
      await client.call("WAIT", "1", "-1"),
      new RespError("ERR timeout is negative"),
    );
    // Redis's integer rules (no leading zero, no sign +), and its whole 64-bit range.
    assert.deepEqual(
      await client.call("WAIT", "01", "0"),
      new RespError("ERR value is not an integer or out of range"),
    );
    assert.deepEqual(
      await client.call("WAIT", "0", "+5"),
      new RespError("ERR timeout is not an integer or out of range"),
    );
    assert.equal(await client.call("WAIT", "0", "9223372036854775807"), 2);
    assert.equal(await client.call("MULTI"), "OK");
    assert.deepEqual(
      await client.call("WAIT", "1", "0"),
      new RespError("ERR not supported by RedisRaft inside MULTI/EXEC"),
    );
    assert.equal(await client.call("DISCARD"), "OK");

    const onFollower = await RespClient.connect(follower.port);
    clients.push(onFollower);
    const moved = await onFollower.call("WAIT", "1", "0");
    assert.ok(moved instanceof RespError && moved.message.startsWith("MOVED 0 "), String(moved));
  } finally {
    for (const client of clients) client.close();
    await cluster.destroy();
  }
});

Deno.test("a client in WAIT counts in blocked_clients, and leaving ends its wait", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const admin = await node.client();
    const blocked = () =>
      admin.call("INFO", "clients").then((info) => infoField(info, "blocked_clients"));
    // A single node has no replica to wait for: each WAIT holds until its minute is up.
    const waiters: RespClient[] = [];
    for (let i = 0; i < 3; i++) {
      const waiter = await RespClient.connect(node.port);
      waiters.push(waiter);
      await waiter.sendRaw("SET k v\r\nWAIT 1 60000\r\n");
      assert.equal(await waiter.read(), "OK");
    }
    await waitFor(async () => await blocked() === "3", "three clients in WAIT");
    for (const waiter of waiters) waiter.close();
    await waitFor(async () => await blocked() === "0", "their waits gone with them");
    admin.close();
  } finally {
    await cluster.destroy();
  }
});
