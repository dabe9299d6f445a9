/**
 * Integration: a write or a transaction whose log entry would exceed --entry-max-bytes is
 * refused before it enters the log (peers refuse such an entry, so it would hold up every write
 * after it), and the cluster keeps serving with every node in step.
 */
import assert from "node:assert/strict";
import { OpenClients } from "../helpers/resp_client.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

const entryMaxBytes = 1024 * 1024;
const limits = [
  "--proto-max-bulk-len-bytes",
  String(2 * entryMaxBytes),
  "--entry-max-bytes",
  String(entryMaxBytes),
  "--write-batch-max-bytes",
  String(64 * 1024),
  "--append-req-max-bytes",
  String(entryMaxBytes),
];
const entryTooLarge = "ERR write exceeds the maximum log entry size (entry-max-bytes)";
const transactionTooLarge = "ERR transaction exceeds the maximum log entry size (entry-max-bytes)";

Deno.test("writes and transactions too large for a log entry are refused; the cluster goes on", async () => {
  const cluster = await TestCluster.start(3, limits);
  const clients = new OpenClients();
  try {
    const leader = await cluster.leader();
    const client = await clients.connect(leader.port);
    const under = "u".repeat(entryMaxBytes - 1000);
    const over = "o".repeat(entryMaxBytes + 1000);

    assert.equal(await client.call("SET", "under", under), "OK");
    assert.equal(await client.callRaw("SET", "over", over), `-${entryTooLarge}\r\n`);
    assert.equal(await client.callRaw("EVAL", `return '${over}'`, "0"), `-${entryTooLarge}\r\n`);

    // Queued past the limit: that command and the ones after it fail, EXEC aborts.
    const half = "h".repeat(entryMaxBytes / 2 + 1000);
    assert.deepEqual(
      (await client.pipeline([
        ["MULTI"],
        ["SET", "t1", half],
        ["SET", "t2", half],
        ["SET", "t3", "small"],
        ["EXEC"],
      ])).map(String),
      [
        "OK",
        "QUEUED",
        transactionTooLarge,
        transactionTooLarge,
        "EXECABORT Transaction discarded because of previous errors.",
      ],
    );
    assert.deepEqual(
      await client.pipeline([["MULTI"], ["SET", "t1", "a"], ["SET", "t2", "b"], ["EXEC"]]),
      ["OK", "QUEUED", "QUEUED", ["OK", "OK"]],
    );

    // Writes after the refusals commit, on every node.
    assert.equal(await client.call("SET", "after", "yes"), "OK");
    await cluster.waitConverged();
    for (const node of cluster.nodes) {
      const reader = await clients.connect(node.port);
      assert.equal(await reader.call("READONLY"), "OK");
      assert.equal(await reader.call("GET", "after"), "yes", `node ${node.port}`);
      assert.equal(await reader.call("STRLEN", "under"), under.length);
      assert.equal(await reader.call("EXISTS", "over", "t3"), 0);
      assert.equal(await reader.call("GET", "t2"), "b");
    }
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});

Deno.test("writes of 15 MiB keep the leader: their bytes are not copied on the way", async () => {
  // The nodes' own timers: a 1 s election timeout, slow-link hand-off past 300 ms for 300 ms.
  const cluster = await TestCluster.start(3, [], []);
  const clients = new OpenClients();
  try {
    const leader = await cluster.leader();
    const termBefore = infoField(await cluster.info(leader), "raft_current_term");
    const client = await clients.connect(leader.port);
    const value = "v".repeat(15 * 1024 * 1024);
    // Each used to be copied about ten times on the leader and its event loop held for half a
    // second and more, so that its heartbeat rounds came back late and it handed leadership
    // over after most of these writes.
    for (let i = 0; i < 5; i++) assert.equal(await client.call("SET", `big${i}`, value), "OK");
    await cluster.waitConverged();
    const info = await cluster.info(leader);
    assert.equal(infoField(info, "raft_role"), "leader");
    assert.equal(infoField(info, "raft_current_term"), termBefore, "no election, no hand-off");
    assert.equal(await client.call("STRLEN", "big4"), value.length);
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});

Deno.test("large entries reach a restarted follower from the leader's log and in a snapshot", async () => {
  const cluster = await TestCluster.start(3);
  const clients = new OpenClients();
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    const client = await clients.connect(leader.port);
    // Entries, log records and snapshot chunks of 64 KiB and more are sent and written from
    // their own buffers (and kept as views of the message they arrived in): every byte must
    // still land where it belongs.
    const value = (i: number) => `${i}:`.padEnd(300 * 1024, String.fromCharCode(97 + (i % 26)));
    const write = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        assert.equal(await client.call("SET", `big${i}`, value(i)), "OK");
      }
    };
    await follower.crash();
    await write(0, 10);
    await follower.spawn(); // catches up by appends
    await cluster.waitConverged();
    await follower.crash();
    await write(10, 20);
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    await write(20, 25);
    const compacted = Number(infoField(await cluster.info(leader), "raft_snapshot_last_idx"));
    await follower.spawn(); // catches up by a snapshot, then appends
    await cluster.waitConverged();
    const installed = Number(infoField(await cluster.info(follower), "raft_snapshot_last_idx"));
    assert.ok(installed >= compacted, `the follower holds the leader's snapshot (${installed})`);
    const onFollower = await clients.connect(follower.port);
    assert.equal(await onFollower.call("READONLY"), "OK");
    for (let i = 0; i < 25; i++) assert.equal(await onFollower.call("GET", `big${i}`), value(i));
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});

Deno.test("reads with large arguments reach the child as sent, also through a follower's proxy", async () => {
  const cluster = await TestCluster.start(3, ["--follower-proxy"]);
  const clients = new OpenClients();
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    const onLeader = await clients.connect(leader.port);
    const onFollower = await clients.connect(follower.port);
    // Arguments of 64 KiB and more are written to the child (and the leader) as they are,
    // after the rest of the command is encoded around them.
    const key = "k".repeat(100 * 1024);
    const message = "m".repeat(200 * 1024);
    assert.equal(await onLeader.call("SET", key, "v"), "OK");
    assert.equal(await onLeader.call("GET", key), "v");
    assert.equal(await onLeader.call("EXISTS", key, "other", key), 2);
    assert.equal(await onFollower.call("GET", key), "v");
    const subscriber = await clients.connect(leader.port);
    assert.deepEqual(await subscriber.call("SUBSCRIBE", "channel"), ["subscribe", "channel", 1]);
    assert.equal(await onFollower.call("PUBLISH", "channel", message), 1);
    assert.deepEqual(await subscriber.read(), ["message", "channel", message]);
    assert.equal(await onLeader.call("PUBLISH", "channel", message), 1);
    assert.deepEqual(await subscriber.read(), ["message", "channel", message]);
  } finally {
    clients.closeAll();
    await cluster.destroy();
  }
});
