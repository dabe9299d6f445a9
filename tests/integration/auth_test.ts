/**
 * Integration: `--requirepass` as Redis's requirepass: NOAUTH until AUTH or HELLO ... AUTH,
 * Redis's error texts, and a 3-node cluster whose own requests (JOIN, the follower proxy, peer
 * links) authenticate, with redis-cli -a as the client.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { type Reply, RespClient, RespError } from "../helpers/resp_client.ts";
import { fastTimers, infoField } from "../helpers/test_cluster.ts";

const password = "s3cret-pass";
const noAuth = new RespError("NOAUTH Authentication required.");
const wrongPass = new RespError(
  "WRONGPASS invalid username-password pair or user is disabled.",
);

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["--no-auth-warning", "-a", password, "-p", String(port), ...args],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("--requirepass: NOAUTH until AUTH; a cluster whose JOIN, proxy and peers authenticate", async () => {
  const nodes: NodeProcess[] = [];
  const clients: RespClient[] = [];
  const connect = async (node: NodeProcess, auth = true) => {
    const client = await RespClient.connect(node.port);
    clients.push(client);
    if (auth) assert.equal(await client.call("AUTH", password), "OK");
    return client;
  };
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await NodeProcess.start({
          args: [...fastTimers, "--requirepass", password, "--follower-proxy"],
        }),
      );
    }
    const [n1, n2, n3] = nodes;

    const stranger = await connect(n1, false);
    for (const command of [["PING"], ["GET", "k"], ["RAFT.CLUSTER", "INIT"], ["CLIENT", "LIST"]]) {
      assert.deepEqual(await stranger.call(...command), noAuth, command.join(" "));
    }
    assert.deepEqual(await stranger.call("AUTH", "wrong"), wrongPass);
    assert.deepEqual(await stranger.call("AUTH", "nobody", password), wrongPass);
    assert.deepEqual(
      await stranger.call("HELLO", "2"),
      new RespError(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
      ),
    );
    assert.deepEqual(await stranger.call("HELLO", "2", "AUTH", "default", "wrong"), wrongPass);
    assert.deepEqual(
      await stranger.call("RAFT.HELLO", "99", "127.0.0.1:1", "wrong"),
      new RespError("WRONGPASS invalid cluster password"),
      "peers present the password too",
    );
    assert.deepEqual(await stranger.call("GET", "k"), noAuth, "still not authenticated");
    const hello = await stranger.call("HELLO", "2", "AUTH", "default", password, "SETNAME", "app");
    assert.ok(Array.isArray(hello) && hello[0] === "server", String(hello));
    const helloId = hello[hello.indexOf("id") + 1];
    assert.equal(helloId, await stranger.call("CLIENT", "ID"), "HELLO's id is CLIENT ID");
    assert.equal(await stranger.call("CLIENT", "GETNAME"), "app");
    assert.deepEqual(await stranger.call("CONFIG", "GET", "requirepass"), [
      "requirepass",
      password,
    ]);
    assert.equal(await stranger.call("RESET"), "RESET");
    assert.deepEqual(await stranger.call("GET", "k"), noAuth, "RESET signs the connection out");
    assert.equal(await stranger.call("AUTH", "default", password), "OK");
    assert.equal(await stranger.call("CLIENT", "GETNAME"), null, "and drops its name");
    assert.deepEqual(
      await stranger.call("HELLO", "4"),
      new RespError("NOPROTO unsupported protocol version"),
    );
    assert.deepEqual(
      await stranger.call("HELLO", "2", "BOGUS"),
      new RespError("ERR Syntax error in HELLO option 'BOGUS'"),
    );

    // The cluster forms over authenticated admin requests (JOIN asks the leader to add it).
    assert.match(String(await (await connect(n1)).call("RAFT.CLUSTER", "INIT")), /^OK /);
    assert.equal(await (await connect(n2)).call("RAFT.CLUSTER", "JOIN", n1.addr), "OK");
    assert.equal(await (await connect(n3)).call("RAFT.CLUSTER", "JOIN", n1.addr), "OK");
    const admin = await connect(n1);
    await waitFor(async () => {
      const info = await admin.call("INFO", "raft");
      return infoField(info, "raft_num_voting_nodes") === "3" ? true : undefined;
    }, "every node voting");

    // redis-cli -a on the leader; followers proxy to it over an authenticated connection.
    assert.equal(await redisCli(n1.port, "SET", "greeting", "hello"), "OK");
    assert.equal(await redisCli(n2.port, "GET", "greeting"), "hello");
    assert.equal(await redisCli(n3.port, "INCR", "visits"), "1");
    // Values beyond the pre-auth 16 KiB: through a follower's proxy, and to the peers.
    const big = "v".repeat(100_000);
    assert.equal(await (await connect(n2)).call("SET", "big", big), "OK");
    assert.equal(await (await connect(n1)).call("GET", "big"), big);
    // RESP3 with the password in HELLO, through a follower's authenticated proxy connection.
    const resp3 = await connect(n2, false);
    assert.match(await resp3.callRaw("HELLO", "3", "AUTH", "default", password), /^%7\r\n/);
    assert.equal(await resp3.callRaw("HSET", "h", "f", "v"), ":1\r\n");
    assert.equal(await resp3.callRaw("HGETALL", "h"), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert.equal(await redisCli(n2.port, "HGETALL", "h"), "f\nv", "the proxy's RESP2 clients too");
    const digests = async () => {
      const seen: Reply[] = [];
      for (const node of nodes) seen.push(await (await connect(node)).call("RAFT.DEBUG", "DIGEST"));
      return seen;
    };
    await waitFor(async () => {
      const [first, ...rest] = (await digests()).map((d) => JSON.stringify(d));
      return rest.every((d) => d === first) ? true : undefined;
    }, "every node applied the same writes");

    // CONFIG SET requirepass: each node's own, as in Redis; signed-in clients stay signed in,
    // peers keep the password the nodes started with, proxies sign in with the new one.
    const newPassword = "s3cond-pa55";
    for (const node of nodes) {
      assert.equal(
        await (await connect(node)).call("CONFIG", "SET", "requirepass", newPassword),
        "OK",
      );
    }
    assert.equal(await admin.call("SET", "after", "1"), "OK", "a signed-in client stays in");
    const fresh = await connect(n3, false);
    assert.deepEqual(await fresh.call("AUTH", password), wrongPass);
    assert.equal(await fresh.call("AUTH", newPassword), "OK");
    assert.deepEqual(await fresh.call("CONFIG", "GET", "requirepass"), [
      "requirepass",
      newPassword,
    ]);
    // A new leader: the followers' proxies open new connections, signed in with the new one.
    const n3Id = infoField(await fresh.call("INFO", "raft"), "raft_node_id")!;
    assert.equal(await admin.call("RAFT.TRANSFER_LEADER", n3Id), "OK");
    const viaProxy = await connect(n2, false);
    assert.equal(await viaProxy.call("AUTH", newPassword), "OK");
    await waitFor(async () => await viaProxy.call("GET", "after") === "1", "n2 to know n3 leads");
    assert.equal(await viaProxy.call("INCR", "visits"), 2, "proxied to the new leader");
    // No password at all: new connections need no AUTH.
    for (const node of nodes) {
      const client = await connect(node, false);
      assert.equal(await client.call("AUTH", newPassword), "OK");
      assert.equal(await client.call("CONFIG", "SET", "requirepass", ""), "OK");
    }
    const open = await connect(n2, false);
    assert.equal(await open.call("GET", "visits"), "2");
    // A restart brings back --requirepass (as Redis without CONFIG REWRITE); its peer links, new
    // connections, still sign in with the password every node started with.
    await n1.stop();
    await n1.spawn();
    const restarted = await connect(n1);
    await waitFor(
      async () => await restarted.call("RAFT.DEBUG", "EXEC", "GET", "visits") === "2",
      "the restarted node to catch up over its new peer links",
    );
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.destroy()));
  }
});

Deno.test("--requirepass: a connection that has not authenticated gets Redis's 10 arguments and 16 KiB bulks", async () => {
  const node = await NodeProcess.start({ args: ["--requirepass", password] });
  try {
    const encode = (...args: string[]) =>
      new TextEncoder().encode(
        `*${args.length}\r\n` + args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join(""),
      );
    const many = ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2", "c", "3", "d", "4"];
    /** The replies to `bytes` sent on a new connection, which the node then closes. */
    const exchange = async (bytes: Uint8Array, replyCount: number) => {
      const client = await RespClient.connect(node.port);
      try {
        await client.sendRaw(bytes);
        const replies: string[] = [];
        for (let i = 0; i < replyCount; i++) replies.push(await client.readRaw(5000));
        assert.ok(await client.waitClosed(), "closed after the replies");
        return replies;
      } finally {
        client.close();
      }
    };
    assert.deepEqual(await exchange(encode(...many), 1), [
      "-ERR Protocol error: unauthenticated multibulk length\r\n",
    ]);
    assert.deepEqual(await exchange(encode("AUTH", "x".repeat(16_385)), 1), [
      "-ERR Protocol error: unauthenticated bulk length\r\n",
    ]);
    // Authenticated in the same write, the next command is held to the usual limits only.
    const authThen = new Uint8Array([
      ...encode("AUTH", password),
      ...encode(...many),
      ...encode("ECHO", "y".repeat(20_000)),
      ...encode("QUIT"),
    ]);
    assert.deepEqual(await exchange(authThen, 4), [
      "+OK\r\n",
      "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
      `$20000\r\n${"y".repeat(20_000)}\r\n`,
      "+OK\r\n",
    ]);
  } finally {
    await node.destroy();
  }
});
