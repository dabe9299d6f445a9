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
    await refused(["XGROUP", "CREATE", "s", "g", "0"], /not supported/);
    await refused(["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"], /not supported/);
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
