/**
 * Integration: CONFIG SET of replicated child parameters goes through the log to every node's
 * child (keyspace notifications reach a subscriber on the leader; an encoding threshold is the
 * same on every node), survives a snapshot and a restart, and other parameters stay refused.
 */
import assert from "node:assert/strict";
import { OpenClients, RespError } from "../helpers/resp_client.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

Deno.test("CONFIG SET notify-keyspace-events & co reach every child and survive a snapshot and a restart", async () => {
  const cluster = await TestCluster.start(3);
  const clients = new OpenClients();
  const connect = (port: number) => clients.connect(port);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const onLeader = await connect(leader.port);
    const onFollower = await connect(follower.port);

    const moved = await onFollower.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
    assert.ok(moved instanceof RespError && moved.message.startsWith("MOVED 0 "), String(moved));
    assert.equal(await onLeader.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), "OK");
    assert.equal(
      await onLeader.call(
        "CONFIG",
        "SET",
        "hash-max-listpack-entries",
        "1",
        "slowlog-max-len",
        "7",
      ),
      "OK",
    );
    // Refused by the child the same way on every node; nothing recorded.
    const bad = await onLeader.call("CONFIG", "SET", "hash-max-listpack-value", "x");
    assert.ok(bad instanceof RespError && bad.message.startsWith("ERR CONFIG SET failed"));
    assert.deepEqual(
      await onLeader.call("CONFIG", "SET", "maxmemory", "1"),
      new RespError("ERR not supported by RedisRaft"),
      "parameters that could make nodes decide differently stay refused",
    );
    assert.deepEqual(
      await onLeader.call("CONFIG", "SET", "maxmemroy", "1"),
      new RespError("ERR Unknown option or number of arguments for CONFIG SET - 'maxmemroy'"),
      "a name Redis does not know either gets Redis's error",
    );

    const subscriber = await connect(leader.port);
    assert.deepEqual(await subscriber.call("SUBSCRIBE", "__keyevent@0__:hset"), [
      "subscribe",
      "__keyevent@0__:hset",
      1,
    ]);
    assert.equal(await onLeader.call("HSET", "h", "a", "1", "b", "2"), 2);
    assert.deepEqual(await subscriber.read(5000), ["message", "__keyevent@0__:hset", "h"]);

    await cluster.waitConverged();
    const expectEverywhere = async (what: string) => {
      for (const node of cluster.nodes) {
        const client = await node.client();
        try {
          assert.deepEqual(
            await client.call("CONFIG", "GET", "notify-keyspace-events"),
            ["notify-keyspace-events", "AKE"],
            `${what}: node ${node.port}`,
          );
          assert.deepEqual(await client.call("CONFIG", "GET", "slowlog-max-len"), [
            "slowlog-max-len",
            "7",
          ]);
          assert.equal(
            await client.call("RAFT.DEBUG", "EXEC", "OBJECT", "ENCODING", "h"),
            "hashtable",
            `${what}: the threshold of 1 entry applied on node ${node.port}`,
          );
        } finally {
          client.close();
        }
      }
    };
    await expectEverywhere("applied");

    // The log before the snapshot is gone: the values come back from the snapshot itself.
    const followerClient = await follower.client();
    assert.equal(await followerClient.call("RAFT.DEBUG", "COMPACT"), "OK");
    followerClient.close();
    await follower.stop();
    await follower.spawn();
    await cluster.waitConverged();
    await expectEverywhere("after the follower's snapshot and restart");
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});
