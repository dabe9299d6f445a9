/**
 * Integration: pub/sub on the leader, redirects on followers, subscribers disconnected when the
 * leader steps down; replies in request order around pub/sub commands, and RESET.
 */
import assert from "node:assert/strict";
import { type Reply, RespClient, RespError } from "../helpers/resp_client.ts";
import { encodeCommands } from "../helpers/reply_frames.ts";
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
    // The node's own commands too, by their full names, as Redis; EXEC also ends a transaction.
    const context =
      "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
    for (
      const [command, name] of [
        [["MULTI"], "multi"],
        [["WATCH", "x"], "watch"],
        [["UNWATCH"], "unwatch"],
        [["DISCARD"], "discard"],
        [["CLIENT", "ID"], "client|id"],
        [["CONFIG", "GET", "x"], "config|get"],
      ] as const
    ) {
      assert.deepEqual(
        await subscriber.call(...command),
        new RespError(`ERR Can't execute '${name}': ${context}`),
        name,
      );
    }
    assert.deepEqual(
      await subscriber.call("EXEC"),
      new RespError(`EXECABORT Transaction discarded because of: Can't execute 'exec': ${context}`),
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

Deno.test("pub/sub replies keep request order when pipelined; RESET leaves pub/sub mode; not in MULTI", async () => {
  const cluster = await TestCluster.start(1);
  const clients: RespClient[] = [];
  try {
    const node = cluster.nodes[0];
    const connect = async () => {
      const client = await RespClient.connect(node.port);
      clients.push(client);
      return client;
    };
    const subscriber = await connect();
    const publisher = await connect();
    await subscriber.sendRaw(encodeCommands([
      ["SUBSCRIBE", "a", "b"],
      ["GET", "x"],
      ["PING"],
      ["RESET"],
      ["SET", "k", "v"],
      ["GET", "k"],
    ]));
    const expected: unknown[] = [
      ["subscribe", "a", 1],
      ["subscribe", "b", 2],
      new RespError(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
      ),
      ["pong", ""],
      "RESET",
      "OK",
      "v",
    ];
    for (const reply of expected) assert.deepEqual(await subscriber.read(), reply);
    assert.equal(await publisher.call("PUBLISH", "a", "after reset"), 0, "RESET unsubscribed");
    assert.equal(await subscriber.call("CLIENT", "LIST", "TYPE", "pubsub"), "");

    // The UNSUBSCRIBE that drops the last subscription ends pub/sub mode for what follows it.
    await subscriber.sendRaw(encodeCommands([
      ["PSUBSCRIBE", "p*"],
      ["SUBSCRIBE", "a"],
      ["UNSUBSCRIBE"],
      ["GET", "k"],
      ["PUNSUBSCRIBE", "p*"],
      ["GET", "k"],
    ]));
    const afterUnsubscribe = [
      ["psubscribe", "p*", 1],
      ["subscribe", "a", 2],
      ["unsubscribe", "a", 1],
      expected[2],
      ["punsubscribe", "p*", 0],
      "v",
    ];
    for (const reply of afterUnsubscribe) assert.deepEqual(await subscriber.read(), reply);

    // Messages still arrive between commands; QUIT answers after the confirmations before it.
    assert.deepEqual(await subscriber.call("PSUBSCRIBE", "n*"), ["psubscribe", "n*", 1]);
    assert.equal(await publisher.call("PUBLISH", "news", "hello"), 1);
    assert.deepEqual(await subscriber.read(), ["pmessage", "n*", "news", "hello"]);
    await subscriber.sendRaw(encodeCommands([["SUBSCRIBE", "c"], ["QUIT"]]));
    assert.deepEqual(await subscriber.read(), ["subscribe", "c", 2]);
    assert.equal(await subscriber.read(), "OK");
    assert.ok(await subscriber.waitClosed());
    assert.equal(await publisher.call("SET", "still", "serving"), "OK");

    // SUBSCRIBE inside MULTI is refused: EXEC would subscribe the child's apply connection, and
    // every write after it would fail on every node.
    assert.equal(await publisher.call("MULTI"), "OK");
    assert.deepEqual(
      await publisher.call("SUBSCRIBE", "c"),
      new RespError("ERR not supported by RedisRaft inside MULTI/EXEC"),
    );
    assert.equal(await publisher.call("SET", "in", "txn"), "QUEUED");
    assert.deepEqual(
      await publisher.call("EXEC"),
      new RespError("EXECABORT Transaction discarded because of previous errors."),
    );
    assert.equal(await publisher.call("MULTI"), "OK");
    assert.equal(await publisher.call("SET", "in", "txn"), "QUEUED");
    assert.deepEqual(await publisher.call("EXEC"), ["OK"]);
    assert.equal(await publisher.call("SET", "after", "txn"), "OK");

    // A subscriber that disconnects leaves no subscription behind in the child.
    const leaving = await connect();
    assert.deepEqual(await leaving.call("SUBSCRIBE", "gone"), ["subscribe", "gone", 1]);
    const numsub = async () =>
      (await publisher.call("RAFT.DEBUG", "EXEC", "PUBSUB", "NUMSUB", "gone") as Reply[])[1];
    assert.equal(await numsub(), 1);
    leaving.close();
    let left = await numsub();
    for (let i = 0; i < 100 && left !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      left = await numsub();
    }
    assert.equal(left, 0, "the child's subscription ends with the client");
  } finally {
    for (const client of clients) client.close();
    await cluster.destroy();
  }
});
