/**
 * Integration: one real node process with its real redis-server child, driven with a raw RESP
 * client (exact replies) and npm:redis (a real user's client).
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { freePort, killChildOf, NodeProcess, waitFor, within } from "../helpers/node_process.ts";
import { RespClient, RespError } from "../helpers/resp_client.ts";

function infoField(info: unknown, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(String(info))?.[1]?.trim();
}

async function initialised(node: NodeProcess): Promise<RespClient> {
  const client = await node.client();
  const reply = await client.call("RAFT.CLUSTER", "INIT");
  assert.match(String(reply), /^OK [0-9a-f]{32}$/);
  await waitFor(async () => (await client.call("SET", "ready", "1")) === "OK", "leader ready");
  return client;
}

Deno.test("before RAFT.CLUSTER INIT data commands get NOCLUSTER and INFO says uninitialized", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await node.client();
    assert.deepEqual(
      await client.call("SET", "a", "b"),
      new RespError("NOCLUSTER No Raft Cluster"),
    );
    assert.deepEqual(await client.call("GET", "a"), new RespError("NOCLUSTER No Raft Cluster"));
    const info = await client.call("INFO", "raft");
    assert.equal(infoField(info, "raft_state"), "uninitialized");
    assert.equal(infoField(info, "raft_role"), "(none)");
    assert.equal(await client.call("PING"), "PONG");
    // Settings the command line or the Raft core would refuse are refused before the core
    // exists, too; INIT still works.
    assert.deepEqual(
      await client.call("CONFIG", "SET", "raft.append-req-max-count", "0"),
      new RespError(
        "ERR CONFIG SET failed (possibly related to argument 'raft.append-req-max-count') - argument must be at least 1",
      ),
    );
    assert.deepEqual(
      await client.call("CONFIG", "SET", "raft.request-timeout", "5000"),
      new RespError(
        "ERR CONFIG SET failed (possibly related to argument 'raft.request-timeout') - invalid raft config: electionTicks > heartbeatTicks",
      ),
    );
    assert.deepEqual(await client.call("CONFIG", "GET", "raft.append-req-max-count"), [
      "raft.append-req-max-count",
      "2",
    ]);
    assert.equal(await client.call("CONFIG", "SET", "raft.append-req-max-count", "3"), "OK");
    assert.match(String(await client.call("RAFT.CLUSTER", "INIT")), /^OK /);
    // The only voter cannot be removed: nothing could ever commit again.
    const ownId = infoField(await client.call("INFO", "raft"), "raft_node_id")!;
    await waitFor(async () => (await client.call("SET", "ready", "1")) === "OK", "leader ready");
    assert.deepEqual(
      await client.call("RAFT.NODE", "REMOVE", ownId),
      new RespError("ERR cannot remove the only voting node"),
    );
    assert.equal(await client.call("SET", "still", "serving"), "OK");
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("RAFT.CLUSTER INIT replies OK <dbid>, counts log entries like RedisRaft, refuses a second INIT", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await node.client();
    assert.deepEqual(
      await client.call("RAFT.CLUSTER", "INIT", "1234567890123456789012345678901"),
      new RespError("ERR cluster id must be 32 characters"),
    );
    assert.equal(
      await client.call("RAFT.CLUSTER", "INIT", "12345678901234567890123456789012"),
      "OK 12345678901234567890123456789012",
    );
    await waitFor(async () => (await client.call("GET", "x")) === null, "leader ready");
    let info = await client.call("INFO", "raft");
    assert.equal(infoField(info, "raft_dbid"), "12345678901234567890123456789012");
    assert.equal(infoField(info, "raft_state"), "up");
    assert.equal(infoField(info, "raft_role"), "leader");
    assert.equal(infoField(info, "raft_current_index"), "2");
    assert.equal(await client.call("SET", "key", "value"), "OK");
    assert.equal(await client.call("GET", "key"), "value");
    info = await client.call("INFO", "raft");
    assert.equal(infoField(info, "raft_current_index"), "3", "a GET does not grow the log");
    assert.deepEqual(
      await client.call("RAFT.CLUSTER", "INIT"),
      new RespError("ERR Already cluster member"),
    );
    assert.match(String(await client.call("INFO")), /cluster_enabled:1/);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("data types work through npm:redis: strings, counters, lists, hashes, sets, sorted sets", async () => {
  const node = await NodeProcess.start();
  try {
    (await initialised(node)).close();
    const redis = createClient({ url: `redis://${node.addr}` });
    await redis.connect();
    assert.equal(await redis.set("s", "hello"), "OK");
    assert.equal(await redis.append("s", " world"), 11);
    assert.equal(await redis.get("s"), "hello world");
    assert.equal(await redis.incr("counter"), 1);
    assert.equal(await redis.incrBy("counter", 41), 42);
    assert.equal(await redis.rPush("list", ["a", "b", "c"]), 3);
    assert.deepEqual(await redis.lRange("list", 0, -1), ["a", "b", "c"]);
    assert.equal(await redis.lPop("list"), "a");
    await redis.hSet("hash", { f1: "v1", f2: "v2" });
    assert.deepEqual({ ...await redis.hGetAll("hash") }, { f1: "v1", f2: "v2" });
    assert.equal(await redis.sAdd("set", ["x", "y", "z"]), 3);
    assert.deepEqual((await redis.sMembers("set")).sort(), ["x", "y", "z"]);
    await redis.zAdd("zset", [{ score: 2, value: "two" }, { score: 1, value: "one" }]);
    assert.deepEqual(await redis.zRange("zset", 0, -1), ["one", "two"]);
    await assert.rejects(redis.incr("s"), /value is not an integer/);
    await assert.rejects(redis.lPush("s", "x"), /WRONGTYPE/);
    const popped = await redis.sPop("set");
    assert.ok(["x", "y", "z"].includes(popped as unknown as string));
    assert.equal(await redis.sCard("set"), 2);
    await redis.quit();
  } finally {
    await node.destroy();
  }
});

Deno.test("MULTI/EXEC is one log entry; MULTI misuse gets Redis's and RedisRaft's errors", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    const before = infoField(await client.call("INFO", "raft"), "raft_current_index");
    assert.equal(await client.call("MULTI"), "OK");
    assert.deepEqual(
      await client.call("MULTI"),
      new RespError("ERR MULTI calls can not be nested"),
    );
    assert.deepEqual(
      await client.call("WATCH", "x"),
      new RespError("ERR WATCH inside MULTI is not allowed"),
    );
    for (let i = 0; i < 3; i++) assert.equal(await client.call("INCR", "txn"), "QUEUED");
    assert.deepEqual(await client.call("EXEC"), [1, 2, 3]);
    const after = infoField(await client.call("INFO", "raft"), "raft_current_index");
    assert.equal(Number(after), Number(before) + 1);
    assert.deepEqual(await client.call("EXEC"), new RespError("ERR EXEC without MULTI"));
    assert.deepEqual(await client.call("DISCARD"), new RespError("ERR DISCARD without MULTI"));
    assert.equal(await client.call("MULTI"), "OK");
    assert.equal(await client.call("INCR", "discarded"), "QUEUED");
    assert.equal(await client.call("DISCARD"), "OK");
    assert.equal(await client.call("GET", "discarded"), null);
    assert.equal(await client.call("MULTI"), "OK");
    assert.equal(await client.call("SET", "mykey", "myval"), "QUEUED");
    assert.deepEqual(
      await client.call("DEBUG", "HELP"),
      new RespError("ERR not supported by RedisRaft"),
    );
    assert.equal(await client.call("SET", "k", "v"), "QUEUED");
    assert.deepEqual(
      await client.call("EXEC"),
      new RespError("EXECABORT Transaction discarded because of previous errors."),
    );
    assert.equal(await client.call("GET", "mykey"), null);
    assert.equal(await client.call("MULTI"), "OK");
    assert.equal(await client.call("SET", "n", "x"), "QUEUED");
    assert.equal(await client.call("INCR", "n"), "QUEUED");
    assert.deepEqual(await client.call("EXEC"), [
      "OK",
      new RespError("ERR value is not an integer or out of range"),
    ]);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("commands that control the child or break replication are refused; errors match Redis", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    const notSupported = new RespError("ERR not supported by RedisRaft");
    for (
      const command of [
        ["CONFIG", "SET", "maxmemory", "1"],
        ["DEBUG", "SLEEP", "0"],
        ["REPLICAOF", "127.0.0.1", "1"],
        ["SLAVEOF", "NO", "ONE"],
        ["SAVE"],
        ["BGSAVE"],
        ["MODULE", "LIST"],
        ["MIGRATE", "127.0.0.1", "1", "k", "0", "10"],
        ["BGREWRITEAOF"],
        ["SYNC"],
        ["FAILOVER"],
      ]
    ) {
      assert.deepEqual(await client.call(...command), notSupported, command.join(" "));
    }
    assert.deepEqual(
      await client.call("SELECT", "1"),
      new RespError("ERR DB index is out of range"),
    );
    assert.equal(await client.call("SELECT", "0"), "OK");
    assert.deepEqual(
      await client.call("NOSUCHCMD", "a", "b"),
      new RespError("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "),
    );
    assert.deepEqual(
      await client.call("GET"),
      new RespError("ERR wrong number of arguments for 'get' command"),
    );
    assert.deepEqual(
      await client.call("CONFIG", "GET"),
      new RespError("ERR wrong number of arguments for 'config|get' command"),
    );
    assert.equal(await client.call("PING"), "PONG", "the node is still serving");
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("LASTSAVE and INFO's time fields follow the node's clock, not the child's held one", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    const lastSave = async () => {
      const reply = await client.call("LASTSAVE");
      assert.equal(typeof reply, "number", `LASTSAVE: ${reply}`);
      const info = await client.call("INFO", "persistence");
      assert.equal(String(reply), infoField(info, "rdb_last_save_time"));
      return reply as number;
    };
    // No snapshot yet: the node's start, as a redis-server that never saved answers its own.
    const started = await lastSave();
    assert.ok(Math.abs(started - Date.now() / 1000) < 60, `${started} is not about now`);
    const server = async () => {
      const info = await client.call("INFO", "server");
      const timeUs = Number(infoField(info, "server_time_usec"));
      assert.ok(Math.abs(timeUs / 1000 - Date.now()) < 5000, `server_time_usec ${timeUs}`);
      return { timeUs, uptimeSec: Number(infoField(info, "uptime_in_seconds")) };
    };
    const early = await server();
    // LASTSAVE counts in seconds: let one pass, so the snapshot's time is a later one. No write
    // meanwhile: the child's clock stays where the last entry set it.
    await new Promise((r) => setTimeout(r, 1100));
    const later = await server();
    assert.ok(later.timeUs - early.timeUs >= 1_000_000, `${early.timeUs} → ${later.timeUs}`);
    assert.ok(later.uptimeSec > early.uptimeSec, `uptime ${early.uptimeSec} → ${later.uptimeSec}`);
    const beforeSec = Math.floor(Date.now() / 1000);
    assert.equal(await client.call("RAFT.DEBUG", "COMPACT"), "OK");
    const saved = await lastSave();
    // The wall clock's time: not the child's, which stays at the last entry's (no write since).
    assert.ok(saved > started, `LASTSAVE ${saved} after the snapshot, ${started} before`);
    assert.ok(
      saved >= beforeSec,
      `LASTSAVE ${saved}, before the snapshot the clock said ${beforeSec}`,
    );
    assert.ok(saved <= Math.ceil(Date.now() / 1000), `${saved} is in the future`);
    assert.equal(await client.call("GET", "ready"), "1", "not replicated, nothing changed");
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("protocol errors close only the offending connection, with Redis's error text", async () => {
  const node = await NodeProcess.start();
  try {
    const good = await initialised(node);
    const cases: [string, string][] = [
      ["*abc\r\n", "ERR Protocol error: invalid multibulk length"],
      ["*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"],
      ["*1\r\n+GET\r\n", "ERR Protocol error: expected '$', got '+'"],
      ["*1\r\n$999999999999\r\n", "ERR Protocol error: invalid bulk length"],
      ['SET "unbalanced\r\n', "ERR Protocol error: unbalanced quotes in request"],
    ];
    for (const [bytes, error] of cases) {
      const bad = await node.client();
      await bad.sendRaw(bytes);
      assert.deepEqual(await bad.read(), new RespError(error), JSON.stringify(bytes));
      assert.ok(await bad.waitClosed(), "connection closed after a protocol error");
    }
    const huge = await node.client();
    await huge.sendRaw("x".repeat(70 * 1024));
    assert.deepEqual(
      await huge.read(),
      new RespError("ERR Protocol error: too big inline request"),
    );
    assert.equal(await good.call("SET", "still", "fine"), "OK");
    assert.equal(await good.call("GET", "still"), "fine");
    good.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("QUIT closes the connection after its reply and those before it: as in Redis, commands pipelined after it do not run", async () => {
  const node = await NodeProcess.start();
  try {
    const good = await initialised(node);
    const quitting = await node.client();
    // The replies before QUIT's all come, also those that wait on the log and the child while
    // an earlier one (PING's) is written.
    await quitting.sendRaw(
      "PING\r\nSET before 1\r\nECHO x\r\nQUIT\r\nSET after 1\r\nINCR before\r\n",
    );
    assert.equal(await quitting.read(), "PONG");
    assert.equal(await quitting.read(), "OK");
    assert.equal(await quitting.read(), "x");
    assert.equal(await quitting.read(), "OK");
    assert.ok(await quitting.waitClosed(), "closed after QUIT's reply");
    assert.equal(await good.call("GET", "before"), "1");
    assert.equal(await good.call("GET", "after"), null);
    good.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("SIGHUP (a closed terminal) stops the node cleanly, its redis child with it", async () => {
  const node = await NodeProcess.start();
  try {
    (await initialised(node)).close();
    const childPid = Number((await Deno.readTextFile(`${node.dir}/redis/redis.pid`)).trim());
    assert.ok(Deno.statSync(`/proc/${childPid}`).isDirectory);
    node.process!.kill("SIGHUP");
    const status = await node.process!.status;
    assert.equal(status.code, 0, `exit ${status.code} signal ${status.signal}`);
    assert.match(await node.log(), /SIGHUP: shutting down/);
    await waitFor(async () => {
      try {
        const stat = await Deno.readTextFile(`/proc/${childPid}/stat`);
        return stat.split(" ")[2] === "Z"; // gone but for its parent's wait
      } catch {
        return true;
      }
    }, "the redis child to exit");
  } finally {
    await node.destroy();
  }
});

Deno.test("a node whose log output breaks (its reader gone) serves on without a log", async () => {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "redisraft-test-" });
  const mainPath = new URL("../../src/main.ts", import.meta.url).pathname;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, "--addr", `127.0.0.1:${port}`, "--dir", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = process.stderr.getReader();
    await reader.read(); // its first line: it is up
    await reader.cancel(); // the pipe's reading end closes: the next line meets a broken pipe
    const client = await waitFor(() => RespClient.connect(port).catch(() => null), "the node");
    assert.match(String(await client.call("RAFT.CLUSTER", "INIT")), /^OK [0-9a-f]{32}$/);
    await waitFor(async () => await client.call("SET", "k", "v") === "OK", "a write once leader");
    assert.equal(await client.call("GET", "k"), "v");
    client.close();
    process.kill("SIGTERM");
    assert.equal((await process.status).code, 0);
  } finally {
    try {
      process.kill("SIGKILL");
    } catch { /* exited */ }
    killChildOf(dir); // a node that died of its log would have left its child behind
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("10,000 pipelined commands are answered in order; an 8 MiB value round-trips", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    // Mostly writes, with a read every 50 commands: each read must see exactly the pushes
    // pipelined before it on this connection, and no later one.
    const commands: string[][] = [];
    const expected: number[] = [];
    let pushes = 0;
    for (let i = 0; i < 10_000; i++) {
      if (i % 50 === 49) {
        commands.push(["LLEN", "pipe"]);
        expected.push(pushes);
      } else {
        commands.push(["RPUSH", "pipe", String(i)]);
        expected.push(++pushes);
      }
    }
    const replies = await client.pipeline(commands);
    assert.deepEqual(replies, expected);
    const big = "v".repeat(8 * 1024 * 1024);
    assert.equal(await client.call("SET", "big", big), "OK");
    assert.equal(await client.call("STRLEN", "big"), big.length);
    assert.equal(await client.call("GET", "big"), big);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("large replies do not pile up in the node's memory once they are sent", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    const value = "v".repeat(256 * 1024);
    assert.equal(await client.call("SET", "big", value), "OK");
    // 2,000 replies of 256 KiB: 500 MiB if the node kept them (it kept thousands before).
    for (let batch = 0; batch < 100; batch++) {
      const replies = await client.pipeline(Array.from({ length: 20 }, () => ["GET", "big"]));
      assert.ok(replies.every((reply) => reply === value));
    }
    const status = await Deno.readTextFile(`/proc/${node.process!.pid}/status`);
    const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    assert.ok(rssMiB < 350, `node RSS ${rssMiB.toFixed(0)} MiB after 2,000 large replies`);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("a transaction holds its commands, not the reads they came in: blank-line padding does not pile up", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    const rssMiB = async () => {
      const status = await Deno.readTextFile(`/proc/${node.process!.pid}/status`);
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    };
    assert.equal(await client.call("MULTI"), "OK");
    const before = await rssMiB();
    // 2,000 writes of 64 KiB of empty lines and a PING each: 125 MiB sent, 2,000 commands
    // queued; the node kept each write's read buffer (about 90 KiB) for its PING before.
    const padded = new TextEncoder().encode("\r\n".repeat(32 * 1024) + "PING\r\n");
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 100; i++) await client.sendRaw(padded);
      for (let i = 0; i < 100; i++) assert.equal(await client.read(), "QUEUED");
    }
    const grownMiB = await rssMiB() - before;
    assert.ok(grownMiB < 80, `node RSS grew ${grownMiB.toFixed(0)} MiB for 2,000 queued PINGs`);
    assert.deepEqual((await client.call("EXEC") as unknown[]).length, 2000);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("a reply over --reply-max-bytes is answered with an error, and the node applies on", async () => {
  const node = await NodeProcess.start({ args: ["--reply-max-bytes", "1000000"] });
  try {
    const client = await initialised(node);
    const value = "v".repeat(600_000);
    assert.equal(await client.call("SET", "big", value), "OK");
    assert.equal(await client.call("GET", "big"), value);
    const [tooLarge, , afterWrite] = await client.pipeline([
      ["MGET", "big", "big"],
      ["SET", "after", "1"],
      ["INCR", "after"],
    ]);
    assert.deepEqual(tooLarge, new RespError("ERR reply too large: more than 1000000 bytes"));
    assert.equal(afterWrite, 2, "the writes after it applied in order");
    assert.deepEqual(await client.call("MGET", "after", "missing"), ["2", null]);
    assert.doesNotMatch(await node.log(), /FATAL/);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("a node whose connection to its child is cut stops (FATAL) rather than apply nothing", async () => {
  const node = await NodeProcess.start();
  try {
    const client = await initialised(node);
    assert.equal(await client.call("SET", "k", "1"), "OK");
    // The child's side closes every client connection, the node's ordered one among them.
    const kill = await new Deno.Command("redis-cli", {
      args: ["-s", `${node.dir}/redis/redis.sock`, "CLIENT", "KILL", "TYPE", "normal"],
      stdout: "piped",
    }).output();
    assert.ok(Number(new TextDecoder().decode(kill.stdout)) >= 1);
    const status = await within(node.process!.status, 10_000);
    assert.ok(status !== "timed out", "the node stopped");
    assert.equal(status.code, 1);
    assert.match(await node.log(), /FATAL: the connection to the redis child was lost/);
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("restart replays the log: data, TTLs fixed at proposal time, and the same identity", async () => {
  const node = await NodeProcess.start();
  try {
    let client = await initialised(node);
    assert.equal(await client.call("SET", "k", "v"), "OK");
    assert.equal(await client.call("SET", "ttl", "v", "EX", "100"), "OK");
    assert.equal(await client.call("RPUSH", "l", "a", "b"), 2);
    const id = infoField(await client.call("INFO", "raft"), "raft_node_id");
    client.close();
    await new Promise((r) => setTimeout(r, 1100));
    await node.stop();
    await node.spawn();
    client = await node.client();
    await waitFor(async () => (await client.call("GET", "k")) === "v", "replayed data");
    assert.deepEqual(await client.call("LRANGE", "l", "0", "-1"), ["a", "b"]);
    const ttl = Number(await client.call("TTL", "ttl"));
    assert.ok(ttl > 0 && ttl < 100, `TTL counts from the original SET, got ${ttl}`);
    assert.equal(infoField(await client.call("INFO", "raft"), "raft_node_id"), id);
    client.close();
  } finally {
    await node.destroy();
  }
});
