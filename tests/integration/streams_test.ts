import assert from "node:assert/strict";
import { RespError } from "../helpers/resp_client.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

const idPattern = /^\d+-\d+$/;

Deno.test("streams: XADD * ids are fixed by the leader, so every node holds the same stream", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const client = await leader.client();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = await client.call("XADD", "s", "*", "n", String(i));
      assert.match(String(id), idPattern);
      ids.push(String(id));
    }
    const sorted = [...ids].sort((a, b) => {
      const [am, as] = a.split("-").map(BigInt);
      const [bm, bs] = b.split("-").map(BigInt);
      return am === bm ? Number(as - bs) : Number(am - bm);
    });
    assert.deepEqual(ids, sorted, "ids grow");
    const trimmedId = await client.call("XADD", "s", "MAXLEN", "~", "5", "*", "n", "x");
    const info = await client.call("XINFO", "STREAM", "s") as string[];
    assert.equal(info[info.indexOf("last-generated-id") + 1], trimmedId);
    assert.match(String(await client.call("XADD", "s", "NOMKSTREAM", "*", "n", "y")), idPattern);
    assert.equal(await client.call("XADD", "absent", "NOMKSTREAM", "*", "n", "y"), null);
    assert.equal(await client.call("XADD", "t", "7-1", "a", "1"), "7-1");
    assert.equal(await client.call("XADD", "t", "7-*", "a", "2"), "7-2");
    assert.match(String(await client.call("XADD", "t", "6-0", "a", "3")), /equal or smaller/);
    assert.deepEqual(await client.call("XRANGE", "t", "-", "+"), [["7-1", ["a", "1"]], ["7-2", [
      "a",
      "2",
    ]]]);
    assert.deepEqual(await client.call("XREAD", "COUNT", "1", "STREAMS", "t", "0"), [["t", [[
      "7-1",
      ["a", "1"],
    ]]]]);
    assert.equal(await client.call("XDEL", "t", "7-1"), 1);
    assert.equal(await client.call("XLEN", "t"), 1);
    const txn = await client.pipeline([["MULTI"], ["XADD", "t", "*", "b", "1"], ["XLEN", "t"], [
      "EXEC",
    ]]);
    assert.match(String((txn[3] as unknown[])[0]), idPattern);
    assert.equal((txn[3] as unknown[])[1], 2);

    const refused = async (args: string[], pattern: RegExp) => {
      const reply = await client.call(...args);
      assert.ok(reply instanceof RespError, `${args.join(" ")} → ${reply}`);
      assert.match(reply.message, pattern);
    };
    await refused(["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], /XREAD BLOCK is not supported/);
    await refused(
      ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"],
      /XREADGROUP BLOCK is not supported/,
    );
    await refused(
      ["EVAL", "return redis.call('XADD', KEYS[1], '*', 'a', '1')", "1", "s"],
      /random/,
    );
    client.close();

    const [index] = await cluster.waitConverged();
    assert.ok(index > 20);
    // A restarted follower replays the log into a fresh child: the same ids again.
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await follower.stop();
    await follower.spawn();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("stream consumer groups: deliveries, claims and acks are the same on every node, replays included", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const client = await leader.client();
    for (let i = 1; i <= 6; i++) await client.call("XADD", "s", `${i}-0`, "n", String(i));
    assert.equal(await client.call("XGROUP", "CREATE", "s", "g", "0"), "OK");
    // A group may be called "block": only the BLOCK option is refused.
    assert.equal(await client.call("XGROUP", "CREATE", "s", "block", "$"), "OK");
    assert.deepEqual(
      await client.call("XREADGROUP", "GROUP", "block", "c", "STREAMS", "s", ">"),
      null,
    );
    const read = await client.call(
      "XREADGROUP",
      "GROUP",
      "g",
      "c1",
      "COUNT",
      "4",
      "STREAMS",
      "s",
      ">",
    );
    assert.deepEqual((read as [string, [string, string[]][]][])[0][1].map(([id]) => id), [
      "1-0",
      "2-0",
      "3-0",
      "4-0",
    ]);
    await new Promise((r) => setTimeout(r, 60));
    // Idle for 60 ms at the claim's entry time on every node: claimed everywhere, or nowhere.
    assert.deepEqual(await client.call("XCLAIM", "s", "g", "c2", "50", "1-0", "2-0", "JUSTID"), [
      "1-0",
      "2-0",
    ]);
    assert.deepEqual(await client.call("XCLAIM", "s", "g", "c3", "60000", "3-0", "JUSTID"), []);
    const auto = await client.call(
      "XAUTOCLAIM",
      "s",
      "g",
      "c3",
      "0",
      "3-0",
      "COUNT",
      "1",
      "JUSTID",
    );
    assert.deepEqual((auto as unknown[])[1], ["3-0"]);
    assert.equal(await client.call("XACK", "s", "g", "1-0", "4-0", "9-0"), 2);
    const pending = await client.call("XPENDING", "s", "g") as unknown[];
    assert.equal(pending[0], 2);
    client.close();

    const full = async () => {
      const views: unknown[] = [];
      for (const node of cluster.nodes) {
        const c = await node.client();
        views.push(await c.call("RAFT.DEBUG", "EXEC", "XINFO", "STREAM", "s", "FULL"));
        c.close();
      }
      return views;
    };
    await cluster.waitConverged();
    const views = await full();
    assert.match(JSON.stringify(views[0]), /"c2"/);
    for (const view of views.slice(1)) assert.deepEqual(view, views[0]);
    // Replayed into a fresh child, the log gives the same delivery times and counts.
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await follower.stop();
    await follower.spawn();
    await cluster.waitConverged();
    for (const view of await full()) assert.deepEqual(view, views[0]);

    // RAFT.DEBUG DIGEST covers consumer groups, which Redis's DEBUG DIGEST leaves out: a consumer
    // made behind the log's back on one child shows in that node's digest only.
    const digests = async () => {
      const seen: [number, string, string][] = [];
      for (const node of cluster.nodes) {
        const c = await node.client();
        const [index, digest] = await c.call("RAFT.DEBUG", "DIGEST") as [number, string];
        seen.push([index, digest, String(await c.call("RAFT.DEBUG", "EXEC", "DEBUG", "DIGEST"))]);
        c.close();
      }
      return seen;
    };
    const before = await digests();
    const tampered = await follower.client();
    assert.equal(
      await tampered.call("RAFT.DEBUG", "EXEC", "XGROUP", "CREATECONSUMER", "s", "g", "ghost"),
      1,
    );
    tampered.close();
    const after = await digests();
    const at = cluster.nodes.indexOf(follower);
    for (let i = 0; i < after.length; i++) {
      assert.equal(after[i][0], before[0][0], "no entry applied meanwhile");
      assert.equal(after[i][2], before[0][2], "Redis's own digest does not see groups");
      if (i === at) assert.notEqual(after[i][1], before[i][1]);
      else assert.equal(after[i][1], before[i][1]);
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("without the child's clock library, consumer group deliveries and claims are refused", async () => {
  const cluster = await TestCluster.start(1, ["--child-clock-lib="]);
  try {
    const client = await (await cluster.leader()).client();
    assert.equal(await client.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), "OK");
    for (
      const command of [
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        ["XCLAIM", "s", "g", "c", "0", "1-0"],
        ["XAUTOCLAIM", "s", "g", "c", "0", "0-0"],
      ]
    ) {
      const reply = await client.call(...command);
      assert.ok(reply instanceof RespError, `${command.join(" ")} → ${reply}`);
      assert.match(reply.message, /need the child's clock library/);
    }
    assert.equal(await client.call("XACK", "s", "g", "1-0"), 0);
    client.close();
  } finally {
    await cluster.destroy();
  }
});
