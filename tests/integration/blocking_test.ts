/**
 * Integration: blocking commands are replicated as RedisRaft does: served in FIFO order with
 * the same elements on every node, timeouts enforced by the leader through the log.
 */
import assert from "node:assert/strict";
import { RespClient, RespError } from "../helpers/resp_client.ts";
import { encodeCommands } from "../helpers/reply_frames.ts";
import { infoField, TestCluster, waitBlockedClients } from "../helpers/test_cluster.ts";

Deno.test("BLPOP waiters are served FIFO, identically on every node; timeouts and bad timeouts", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c1 = await leader.client();
    const c2 = await leader.client();
    const pusher = await leader.client();
    const first = c1.call("BLPOP", "x", "0");
    await waitBlockedClients(pusher, 1);
    const second = c2.call("BLPOP", "x", "0");
    await waitBlockedClients(pusher, 2);
    assert.equal(await pusher.call("LPUSH", "x", "1"), 1);
    assert.equal(await pusher.call("LPUSH", "x", "2"), 1);
    assert.equal(await pusher.call("LPUSH", "x", "3"), 1);
    assert.deepEqual(await first, ["x", "1"]);
    assert.deepEqual(await second, ["x", "2"]);
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      const c = await node.client();
      assert.deepEqual(await c.call("RAFT.DEBUG", "EXEC", "LRANGE", "x", "0", "-1"), ["3"]);
      c.close();
    }

    const started = Date.now();
    assert.equal(await c1.call("BRPOP", "empty", "1"), null, "nil after the timeout");
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 5000, `waited ${waited} ms`);
    assert.deepEqual(
      await c1.call("BLPOP", "x", "a"),
      new RespError("ERR timeout is not a float or out of range"),
    );
    assert.deepEqual(await c1.call("BLPOP", "x", "-1"), new RespError("ERR timeout is negative"));

    // A move serves a waiter on its destination in turn; BZPOPMIN waits for a sorted set.
    const mover = c1.call("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0");
    const onDst = c2.call("BLPOP", "dst", "0");
    const zwait = pusher.call("BZPOPMIN", "z", "0");
    const other = await leader.client();
    await waitBlockedClients(other, 3);
    assert.equal(await other.call("RPUSH", "src", "moved"), 1);
    assert.equal(await mover, "moved");
    assert.deepEqual(await onDst, ["dst", "moved"]);
    assert.equal(await other.call("ZADD", "z", "5", "five"), 1);
    assert.deepEqual(await zwait, ["z", "five", "5"]);
    // Inside MULTI a blocking command does not block, as in Redis.
    assert.equal(await other.call("MULTI"), "OK");
    assert.equal(await other.call("BLPOP", "nothing", "0"), "QUEUED");
    assert.deepEqual(await other.call("EXEC"), [null]);
    for (const c of [c1, c2, pusher, other]) c.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("pops over several keys take from the first that has elements, at once and when woken", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const waiter = await leader.client();
    assert.equal(await c.call("RPUSH", "b", "1", "2", "3"), 3);
    assert.deepEqual(await c.call("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"), [
      "b",
      ["3", "2"],
    ]);
    assert.deepEqual(await c.call("BLPOP", "a", "b", "0"), ["b", "1"]);
    assert.equal(await c.call("ZADD", "z2", "1", "one", "2", "two"), 2);
    assert.deepEqual(await c.call("BZMPOP", "0", "2", "z1", "z2", "MIN", "COUNT", "1"), [
      "z2",
      [["one", "1"]],
    ]);
    // Woken by a push onto the second key.
    const woken = waiter.call("BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "5");
    await waitBlockedClients(c, 1);
    assert.equal(await c.call("RPUSH", "b", "x", "y"), 2);
    assert.deepEqual(await woken, ["b", ["x", "y"]]);
    const zwoken = waiter.call("BZMPOP", "0", "2", "z1", "z3", "MAX", "COUNT", "2");
    await waitBlockedClients(c, 1);
    assert.equal(await c.call("ZADD", "z3", "3", "three", "2", "two"), 2);
    assert.deepEqual(await zwoken, ["z3", [["three", "3"], ["two", "2"]]]);
    c.close();
    waiter.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("CLIENT UNBLOCK ends a replicated wait with nil (TIMEOUT) or an error (ERROR)", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const blocked = await leader.client();
    const admin = await leader.client();
    const id = await blocked.call("CLIENT", "ID") as number;
    const waiting = blocked.call("BLPOP", "never", "0");
    await waitBlockedClients(admin, 1);
    // Redis's integer rules: another spelling of the id is an error, and the client waits on.
    const notInteger = new RespError("ERR value is not an integer or out of range");
    for (const spelling of [`0x${id.toString(16)}`, `${id}e0`, ` ${id}`, `+${id}`]) {
      assert.deepEqual(await admin.call("CLIENT", "UNBLOCK", spelling), notInteger, spelling);
    }
    assert.equal(infoField(String(await admin.call("INFO", "clients")), "blocked_clients"), "1");
    assert.equal(await admin.call("CLIENT", "UNBLOCK", String(id)), 1);
    assert.equal(await waiting, null);
    const again = blocked.call("BLPOP", "never", "0");
    await waitBlockedClients(admin, 1);
    assert.equal(await admin.call("CLIENT", "UNBLOCK", String(id), "ERROR"), 1);
    assert.deepEqual(await again, new RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
    assert.equal(await admin.call("CLIENT", "UNBLOCK", String(id)), 0, "not blocked any more");
    assert.equal(await admin.call("RPUSH", "never", "x"), 1, "no stale waiter takes it");
    assert.deepEqual(await admin.call("LRANGE", "never", "0", "-1"), ["x"]);
    blocked.close();
    admin.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a blocked client that is gone is not served: a push right after its disconnect stays", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const node = cluster.nodes[0];
    const blocked = await RespClient.connect(node.port);
    const admin = await RespClient.connect(node.port);
    const id = String(await blocked.call("CLIENT", "ID"));
    const waiting = blocked.call("BLPOP", "queue", "0").catch((error) => error);
    for (
      let i = 0;
      i < 100 && (await admin.call("CLIENT", "LIST", "ID", id) as string).includes("flags=N");
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // The kill and the push in one write: the push is handled right after the disconnect.
    await admin.sendRaw(encodeCommands([["CLIENT", "KILL", "ID", id], ["RPUSH", "queue", "kept"]]));
    assert.equal(await admin.read(), 1);
    assert.equal(await admin.read(), 1);
    assert.match(String(await waiting), /closed/);
    assert.deepEqual(await admin.call("LRANGE", "queue", "0", "-1"), ["kept"]);
    admin.close();
  } finally {
    await cluster.destroy();
  }
});
