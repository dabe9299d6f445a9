/**
 * Integration: CLIENT LIST, INFO and KILL on a node's own connections, with Redis 7.0's line
 * format, filters and error replies; a killed client is disconnected and the node serves on.
 * INFO counts the node's connections and blocked clients, not the child's. CLIENT REPLY drops
 * replies as Redis does, byte for byte.
 */
import assert from "node:assert/strict";
import { RespClient, RespError } from "../helpers/resp_client.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { parseClients } from "../helpers/client_list.ts";

async function info(client: RespClient): Promise<Map<string, string>> {
  const lines = parseClients(await client.call("CLIENT", "INFO"));
  assert.equal(lines.length, 1);
  return lines[0];
}

Deno.test("CLIENT LIST/INFO/KILL: Redis's fields, filters and errors on the node's connections", async () => {
  const cluster = await TestCluster.start(1);
  const clients: RespClient[] = [];
  const connect = async () => {
    const client = await RespClient.connect(cluster.nodes[0].port);
    clients.push(client);
    return client;
  };
  try {
    const port = cluster.nodes[0].port;
    const admin = await connect();
    const other = await connect();
    assert.equal(await admin.call("CLIENT", "SETNAME", "admin"), "OK");
    const adminInfo = await info(admin);
    const otherInfo = await info(other);
    assert.equal(adminInfo.get("id"), String(await admin.call("CLIENT", "ID")));
    assert.equal(adminInfo.get("name"), "admin");
    assert.equal(adminInfo.get("laddr"), `127.0.0.1:${port}`);
    assert.match(adminInfo.get("addr")!, /^127\.0\.0\.1:\d+$/);
    assert.equal(adminInfo.get("cmd"), "client|info");
    assert.equal(adminInfo.get("flags"), "N");
    assert.equal(adminInfo.get("db"), "0");
    assert.equal(adminInfo.get("multi"), "-1");
    assert.equal(adminInfo.get("user"), "default");
    assert.ok(Number(adminInfo.get("age")) >= 0 && Number(adminInfo.get("idle")) >= 0);

    // INFO shows the node's view: its port and pid, and its client connections.
    const infoClients = String(await admin.call("INFO"));
    assert.equal(infoField(infoClients, "connected_clients"), "2");
    assert.equal(infoField(infoClients, "blocked_clients"), "0");
    assert.equal(infoField(infoClients, "tcp_port"), String(port));
    assert.equal(infoField(infoClients, "process_id"), String(cluster.nodes[0].process!.pid));
    assert.equal(infoField(infoClients, "cluster_enabled"), "1");

    const listed = parseClients(await admin.call("CLIENT", "LIST"));
    const ids = listed.map((c) => c.get("id"));
    assert.ok(ids.includes(adminInfo.get("id")) && ids.includes(otherInfo.get("id")), `${ids}`);
    assert.equal(
      listed.find((c) => c.get("id") === adminInfo.get("id"))!.get("cmd"),
      "client|list",
    );

    // In MULTI: flag x and the queued count; blocked in BLPOP: flag b and its command.
    assert.equal(await other.call("MULTI"), "OK");
    assert.equal(await other.call("SET", "k", "v"), "QUEUED");
    const [inMulti] = parseClients(await admin.call("CLIENT", "LIST", "ID", otherInfo.get("id")!));
    assert.equal(inMulti.get("flags"), "x");
    assert.equal(inMulti.get("multi"), "1");
    assert.equal(await other.call("DISCARD"), "OK");
    const blocked = await connect();
    const blockedId = String((await info(blocked)).get("id"));
    const blockedCall = blocked.call("BLPOP", "nothing", "0").catch((error) => error);
    let waiting: Map<string, string> | undefined;
    for (let i = 0; i < 100 && waiting?.get("flags") !== "b"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      [waiting] = parseClients(await admin.call("CLIENT", "LIST", "ID", blockedId));
    }
    assert.equal(waiting?.get("flags"), "b");
    assert.equal(waiting?.get("cmd"), "blpop");
    const infoBlocked = String(await admin.call("INFO", "clients"));
    assert.equal(infoField(infoBlocked, "blocked_clients"), "1");
    assert.equal(infoField(infoBlocked, "connected_clients"), "3");
    assert.equal(await admin.call("CLIENT", "KILL", "ID", blockedId), 1);
    assert.ok(await blocked.waitClosed(), "the killed client is disconnected");
    assert.match(String(await blockedCall), /closed/);
    assert.equal(await admin.call("CLIENT", "LIST", "ID", blockedId), "");

    // A subscriber is the only pubsub client; TYPE kills just it.
    const subscriber = await connect();
    assert.deepEqual(await subscriber.call("SUBSCRIBE", "news"), ["subscribe", "news", 1]);
    const pubsub = parseClients(await admin.call("CLIENT", "LIST", "TYPE", "pubsub"));
    assert.equal(pubsub.length, 1);
    assert.equal(pubsub[0].get("flags"), "P");
    assert.equal(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"), 1);
    assert.ok(await subscriber.waitClosed());

    // The old form takes an address; SKIPME (yes by default) spares the caller.
    assert.equal(await admin.call("CLIENT", "KILL", otherInfo.get("addr")!), "OK");
    assert.ok(await other.waitClosed());
    assert.equal(await admin.call("CLIENT", "KILL", "ID", adminInfo.get("id")!), 0);
    assert.equal(
      await admin.call("CLIENT", "KILL", "ADDR", adminInfo.get("addr")!, "SKIPME", "no"),
      1,
      "the caller gets its reply, then is disconnected",
    );
    assert.ok(await admin.waitClosed());

    const checker = await connect();
    const errors: [string[], string][] = [
      [["CLIENT", "LIST", "TYPE", "nosuch"], "ERR Unknown client type 'nosuch'"],
      [["CLIENT", "LIST", "ID", "x"], "ERR Invalid client ID"],
      [["CLIENT", "LIST", "BOGUS"], "ERR syntax error"],
      [["CLIENT", "KILL", "1.2.3.4:5"], "ERR No such client"],
      [["CLIENT", "KILL", "ID", "0"], "ERR client-id should be greater than 0"],
      [["CLIENT", "KILL", "TYPE", "nosuch"], "ERR Unknown client type 'nosuch'"],
      [["CLIENT", "KILL", "USER", "bob"], "ERR No such user 'bob'"],
      [["CLIENT", "KILL", "SKIPME", "maybe"], "ERR syntax error"],
      [["CLIENT", "KILL", "ID", "1", "TYPE"], "ERR syntax error"],
      [
        ["CLIENT", "SETNAME", "a b"],
        "ERR Client names cannot contain spaces, newlines or special characters.",
      ],
      [["CLIENT", "PAUSE", "100"], "ERR not supported by RedisRaft"],
    ]; // deno-fmt-ignore
    for (const [command, error] of errors) {
      assert.deepEqual(await checker.call(...command), new RespError(error), command.join(" "));
    }
    assert.equal(await checker.call("SET", "after", "kills"), "OK");
    assert.equal(await checker.call("GET", "after"), "kills");

    // CLIENT NO-EVICT sets a flag (no node evicts clients), kept through RESET as by Redis 7.0.
    assert.equal(await checker.call("CLIENT", "NO-EVICT", "on"), "OK");
    assert.equal((await info(checker)).get("flags"), "e");
    assert.equal(await checker.call("RESET"), "RESET");
    assert.equal((await info(checker)).get("flags"), "e");
    assert.equal(await checker.call("CLIENT", "NO-EVICT", "off"), "OK");
    assert.equal((await info(checker)).get("flags"), "N");
  } finally {
    for (const client of clients) client.close();
    await cluster.destroy();
  }
});

/** Everything a server sends back for `commands` (inline), up to the final PING's PONG. */
async function replyStream(port: number, commands: string[]): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode([...commands, "PING"].join("\r\n") + "\r\n"));
    const buffer = new Uint8Array(64 * 1024);
    let out = "";
    for (let reads = 0; reads < 1000 && !out.endsWith("+PONG\r\n"); reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      out += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return out;
  } finally {
    conn.close();
  }
}

Deno.test("CLIENT REPLY OFF, SKIP and ON drop replies exactly as Redis", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const commands = [
      "CLIENT REPLY foo",
      "CLIENT REPLY",
      "CLIENT REPLY OFF",
      "SET a 1",
      "GET a",
      "NOSUCHCOMMAND",
      "CLIENT REPLY SKIP",
      "CLIENT REPLY ON",
      "GET a",
      "CLIENT REPLY SKIP",
      "GET a",
      "INCR a",
      "CLIENT REPLY SKIP",
      "CLIENT REPLY SKIP",
      "GET a",
      "INCR a",
      "CLIENT REPLY OFF",
      "RESET",
      "GET a",
      // Pub/sub confirmations are pushes: sent whatever CLIENT REPLY says (an error is not).
      "CLIENT REPLY OFF",
      "SUBSCRIBE ch1 ch2",
      "PING",
      "UNSUBSCRIBE ch2",
      "SUBSCRIBE",
      "RESET",
      "CLIENT REPLY SKIP",
      "PSUBSCRIBE p*",
      "PING",
      "RESET",
    ];
    const ours = await replyStream(leader.port, commands);
    assert.equal(ours, await replyStream(plain.port, commands));
    assert.ok(ours.includes("+RESET\r\n") && ours.includes(":2\r\n"), ours);
    const client = await leader.client();
    assert.equal(await client.call("GET", "a"), "3", "writes sent with replies off were applied");
    client.close();
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});
