/**
 * Integration: pub/sub on the leader, redirects on followers, subscribers disconnected when the
 * leader steps down.
 */
import assert from "node:assert/strict";
import { RespError } from "../helpers/resp_client.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

Deno.test("SUBSCRIBE on the leader receives PUBLISH; followers redirect; leader change disconnects", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const subscriber = await leader.client();
    assert.deepEqual(await subscriber.call("SUBSCRIBE", "news", "sports"), [
      "subscribe",
      "news",
      1,
    ]);
    assert.deepEqual(await subscriber.read(), ["subscribe", "sports", 2]);
    assert.deepEqual(
      await subscriber.call("GET", "x"),
      new RespError(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
      ),
    );
    const publisher = await leader.client();
    assert.equal(await publisher.call("PUBLISH", "news", "hello"), 1);
    assert.deepEqual(await subscriber.read(), ["message", "news", "hello"]);
    assert.deepEqual(await subscriber.call("PING"), ["pong", ""]);
    assert.deepEqual(await subscriber.call("UNSUBSCRIBE", "sports"), ["unsubscribe", "sports", 1]);
    assert.deepEqual(await subscriber.call("UNSUBSCRIBE", "news"), ["unsubscribe", "news", 0]);
    assert.equal(await subscriber.call("SET", "after", "pubsub"), "OK", "normal mode again");
    assert.deepEqual(await subscriber.call("PSUBSCRIBE", "n*"), ["psubscribe", "n*", 1]);

    const onFollower = await follower.client();
    assert.deepEqual(
      await onFollower.call("SUBSCRIBE", "news"),
      new RespError(`MOVED 0 ${leader.addr}`),
    );
    assert.deepEqual(
      await onFollower.call("PUBLISH", "news", "x"),
      new RespError(`MOVED 0 ${leader.addr}`),
    );
    onFollower.close();

    const admin = await leader.client();
    const targetId = infoField(await cluster.info(follower), "raft_node_id")!;
    assert.equal(await admin.call("RAFT.TRANSFER_LEADER", targetId), "OK");
    admin.close();
    assert.ok(await subscriber.waitClosed(5000), "the old leader disconnects its subscribers");
    publisher.close();
  } finally {
    await cluster.destroy();
  }
});
