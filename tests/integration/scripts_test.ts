/**
 * Integration: scripts and functions replicate deterministically: random commands are refused
 * inside them, order-unstable replies are sorted, EVALSHA and SCRIPT LOAD work cluster-wide,
 * and every node ends with the same dataset. Scripts are bytes, hashed as Redis hashes them, and
 * their errors carry the lines and SHA1 the client knows.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { concatBytes } from "../../src/resp/bytes.ts";
import { RespError } from "../helpers/resp_client.ts";
import { waitFor, within } from "../helpers/node_process.ts";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";

Deno.test("EVAL/EVALSHA/SCRIPT LOAD/FCALL are deterministic on every node", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const index = async () =>
      Number(/raft_current_index:(\d+)/.exec(String(await c.call("INFO", "raft")))![1]);
    const before = await index();
    assert.equal(
      await c.call(
        "EVAL",
        "redis.call('SET','key1','value1') redis.call('SET','key2','value2') return 1234",
        "0",
      ),
      1234,
    );
    assert.equal(await index(), before + 1, "one log entry per script");
    for (const random of ["TIME", "RANDOMKEY"]) {
      const reply = await c.call("EVAL", `return redis.call('${random}')`, "0");
      assert.ok(
        reply instanceof RespError &&
          reply.message.includes("Cannot run a command with random results"),
        String(reply),
      );
    }
    assert.equal(await c.call("SADD", "s", "c", "b", "a", "e", "d"), 5);
    assert.deepEqual(await c.call("EVAL", "return redis.call('SMEMBERS', KEYS[1])", "1", "s"), [
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
    assert.equal(await c.call("HSET", "h", "z", "1", "a", "2", "m", "3"), 3);
    assert.deepEqual(await c.call("EVAL", "return redis.call('HGETALL', 'h')", "0"), [
      "a",
      "2",
      "m",
      "3",
      "z",
      "1",
    ]);
    const sha = String(await c.call("SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])"));
    assert.match(sha, /^[0-9a-f]{40}$/);
    assert.deepEqual(
      await c.call("SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000"),
      [1, 0],
    );
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), 1);
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), 2);
    assert.deepEqual(
      await c.call("EVALSHA", "0000000000000000000000000000000000000000", "0"),
      new RespError("NOSCRIPT No matching script. Please use EVAL."),
    );
    assert.equal(
      await c.call("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "key1"),
      "value1",
    );
    assert.equal(
      await c.call(
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\nredis.register_function('members', function(keys) return redis.call('SMEMBERS', keys[1]) end)",
      ),
      "lib",
    );
    assert.deepEqual(await c.call("FCALL", "members", "1", "s"), ["a", "b", "c", "d", "e"]);
    assert.equal(await c.call("MULTI"), "OK");
    assert.equal(await c.call("EVALSHA", sha, "1", "counter"), "QUEUED");
    assert.deepEqual(await c.call("EXEC"), [3]);
    const popped = await c.call("SPOP", "s", "2") as string[];
    assert.equal(popped.length, 2);
    c.close();
    await cluster.waitConverged();
    // A new leader still knows the script.
    await (await cluster.leader()).stop();
    assert.equal(await cluster.call(["EVALSHA", sha, "1", "counter"], 20_000), 4);
  } finally {
    await cluster.destroy();
  }
});

Deno.test("scripts are bytes: a non-UTF-8 script runs intact under Redis's SHA1; errors name its lines and SHA1", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const utf8 = new TextEncoder();
    const script = concatBytes([
      utf8.encode('local s = "'),
      new Uint8Array([0xff, 0xfe, 0x80]),
      utf8.encode('" return {string.byte(s, 1, -1)}'),
    ]);
    const sha = createHash("sha1").update(script).digest("hex");
    assert.deepEqual(await c.call("EVAL", script, "0"), [255, 254, 128]);
    assert.equal(await c.call("SCRIPT", "LOAD", script), sha);
    assert.deepEqual(await c.call("EVALSHA", sha, "0"), [255, 254, 128]);
    assert.deepEqual(await c.call("EVALSHA_RO", sha, "0"), [255, 254, 128]);
    // Followers learnt the script from the log, byte for byte: a new leader runs it by SHA1.
    await cluster.waitConverged();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const followerId = infoField(await cluster.info(follower), "raft_node_id")!;
    assert.equal(await c.call("RAFT.TRANSFER_LEADER", followerId), "OK");
    assert.deepEqual(await cluster.call(["EVALSHA", sha, "0"]), [255, 254, 128]);

    const shaOf = (text: string) => createHash("sha1").update(text).digest("hex");
    const unknown = "return redis.call('nosuch')";
    const arithmetic = "local x = 1\nreturn x + {}";
    const errors: [string[], string][] = [
      [
        ["EVAL", unknown, "0"],
        `ERR Unknown Redis command called from script script: ${
          shaOf(unknown)
        }, on @user_script:1.`,
      ],
      [
        ["EVAL", arithmetic, "0"],
        `ERR user_script:2: attempt to perform arithmetic on a table value script: ${
          shaOf(arithmetic)
        }, on @user_script:2.`,
      ],
      [
        ["EVAL", "error(", "0"],
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'",
      ],
      [[
        "FUNCTION",
        "LOAD",
        "#!lua name=broken\nredis.register_function('f', function() return 1 end)\nerror(",
      ], "ERR Error compiling function: user_function:3: unexpected symbol near '<eof>'"],
    ]; // deno-fmt-ignore
    const newLeader = await (await cluster.leader()).client();
    for (const [command, error] of errors) {
      assert.deepEqual(await newLeader.call(...command), new RespError(error), command.join(" "));
    }
    newLeader.close();
    c.close();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a script on RESP3 replies (redis.setresp(3)) iterates maps and sets alike on every node", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const c = await (await cluster.leader()).client();
    const members = Array.from({ length: 200 }, (_, i) => `member-${i}`);
    assert.equal(await c.call("SADD", "s", ...members), 200);
    assert.equal(await c.call("HSET", "h", ...members.flatMap((m, i) => [m, String(i)])), 200);
    // Each child orders its own hash tables (seeded per process); what the script sees must not.
    const script = [
      "redis.setresp(3)",
      "local out = {}",
      "for k in pairs(redis.call('SMEMBERS', KEYS[1]).set) do out[#out + 1] = k end",
      "for k, v in pairs(redis.call('HGETALL', KEYS[2]).map) do out[#out + 1] = k .. '=' .. v end",
      "redis.call('SET', KEYS[3], table.concat(out, ','))",
      "return #out",
    ].join("\n");
    assert.equal(await c.call("EVAL", script, "3", "s", "h", "seen"), 400);
    c.close();
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a script run inside MULTI is known to every node afterwards; an unknown EVALSHA fails at EXEC alone", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const client = await leader.client();
    const body = "return redis.call('INCR', KEYS[1])";
    const sha = createHash("sha1").update(body).digest("hex");
    const unknown = "0".repeat(40);
    assert.deepEqual(
      await client.pipeline([
        ["MULTI"],
        ["EVAL", body, "1", "n"],
        ["EVALSHA", unknown, "0"],
        ["EVAL", "return redis.call('NOSUCH')", "0"],
        ["EXEC"],
      ]),
      ["OK", "QUEUED", "QUEUED", "QUEUED", [
        1,
        new RespError("NOSCRIPT No matching script. Please use EVAL."),
        new RespError(
          "ERR Unknown Redis command called from script script: " +
            createHash("sha1").update("return redis.call('NOSUCH')").digest("hex") +
            ", on @user_script:1.",
        ),
      ]],
    );
    client.close();
    await cluster.waitConverged();
    // Every node learned it: each one, made leader in turn, runs it by its SHA1.
    let count = 1;
    for (const node of cluster.nodes.filter((n) => n !== leader)) {
      const nodeId = infoField(await cluster.info(node), "raft_node_id")!;
      const c = await (await cluster.leader()).client();
      assert.equal(await c.call("RAFT.TRANSFER_LEADER", nodeId), "OK");
      c.close();
      await waitFor(async () => await cluster.leader() === node, "the transfer");
      assert.equal(await cluster.call(["EVALSHA", sha, "1", "n"]), ++count);
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a script that would never end fails at the same step on every node, and the cluster goes on", async () => {
  const cluster = await TestCluster.start(3, ["--script-steps-max-count", "1000000"]);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const limit = "-ERR script exceeded the step limit (script-steps-max-count)";
    for (
      const script of [
        "while true do end",
        "redis.call('INCR', 'partial') local n = 0 repeat n = n + 1 until false",
        "local function f(n) return f(n + 1) end return f(1)",
        "while true do pcall(function() while true do end end) end",
        // The counter is the sandbox's: a script's own name for it is another variable.
        "local __raft_n = 0 while true do __raft_n = 0 end",
      ]
    ) {
      const reply = await c.callRaw("EVAL", script, "0");
      assert.ok(reply.startsWith(limit), `${script}: ${reply}`);
    }
    // What a script wrote before its budget ran out stays, as after any script error.
    assert.equal(await c.call("GET", "partial"), "1");

    assert.equal(
      await c.call(
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\n" +
          "redis.register_function('spin', function(keys, args) while true do end end)\n" +
          "redis.register_function('count', function(keys, args)\n" +
          "  local n = 0 for i = 1, tonumber(args[1]) do n = n + 1 end\n" +
          "  return redis.call('INCRBY', keys[1], n)\n" +
          "end)",
      ),
      "lib",
    );
    assert.match(await c.callRaw("FCALL", "spin", "0"), /^-ERR script exceeded the step limit/);
    // A library's own code, as it loads, has a small budget (Redis stops it after 500 ms of its
    // clock, which could differ between nodes).
    assert.match(
      await c.callRaw(
        "FUNCTION",
        "LOAD",
        "#!lua name=slow\nlocal n = 0 for i = 1, 2000000 do n = n + 1 end",
      ),
      /step_limit_exceeded_while_loading/,
    );
    // Each call has the whole budget.
    for (let i = 1; i <= 3; i++) {
      assert.equal(await c.call("FCALL", "count", "1", "total", "600000"), 600000 * i);
    }
    assert.equal(await c.call("SET", "after", "yes"), "OK");
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("SCRIPT DEBUG is refused: it would stop every node's child from answering", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const c = await (await cluster.leader()).client();
    for (const mode of ["YES", "SYNC", "NO"]) {
      assert.deepEqual(
        await c.call("SCRIPT", "DEBUG", mode),
        new RespError("ERR not supported by RedisRaft"),
        mode,
      );
    }
    // Before, SCRIPT DEBUG YES went through the log, and the EVAL after it (this one, or the
    // digest's own) ran in a debugger forked on each child, which never answered.
    assert.equal(await c.call("EVAL", "return redis.call('SET', KEYS[1], 'v')", "1", "k"), "OK");
    assert.notEqual(await within(cluster.waitConverged(), 20_000), "timed out");
  } finally {
    await cluster.destroy();
  }
});

Deno.test("a script cannot step around the sandbox: globals, compiled code, memory figures, addresses and the PRNG", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const c = await leader.client();
    const members = Array.from({ length: 50 }, (_, i) => `m${i}`);
    assert.equal(await c.call("SADD", "s", ...members), 50);
    const refusals: [string, RegExp][] = [
      // The real `redis`, through the globals table, would pop a different member on each node.
      ["return _G.redis.call('SPOP', 's')", /Cannot run a command with random results/],
      ["return rawget(_G, 'redis').call('SPOP', 's')", /attempt to index a nil value/],
      // A subcommand's tips are its own: an encoding differs after a node reloads from a snapshot.
      ["return redis.call('OBJECT', 'ENCODING', 's')", /Cannot run a command with random results/],
      ["return redis.pcall('object', 'idletime', 's')", /Cannot run a command with random results/],
      ["return loadstring(\"return redis.call('SPOP', 's')\")()", /loadstring is not allowed/],
      ["return _G.loadstring('return 1')()", /loadstring is not allowed/],
      ["return load(function() return nil end)", /load is not allowed/],
      ["return collectgarbage('count')", /collectgarbage\('count'\) is not allowed/],
      ["return gcinfo()", /gcinfo is not allowed/],
    ];
    for (const [script, error] of refusals) {
      const reply = await c.call("EVAL", script, "0");
      assert.ok(reply instanceof RespError, `${script}: ${reply}`);
      assert.match(reply.message, error, script);
    }
    assert.equal(await c.call("EVAL", "return collectgarbage()", "0"), 0, "a collection is fine");
    // COMMAND's entries (arrays) come in a per-process hash order: sorted by name.
    const names = await c.call(
      "EVAL",
      "local out = {} for i, e in ipairs(redis.call('COMMAND')) do out[i] = e[1] end return out",
      "0",
    ) as string[];
    assert.ok(names.length > 100 && names.every((n, i) => i === 0 || names[i - 1] < n), `${names}`);
    const docs = await c.call("EVAL", "return redis.call('COMMAND', 'DOCS', 'get', 'set')", "0");
    assert.deepEqual((docs as unknown[]).filter((_, i) => i % 2 === 0), ["get", "set"]);
    assert.equal(await c.call("SCARD", "s"), 50);

    // A read-only script runs on the leader alone: it must not move the PRNG that later
    // scripts, run on every node, draw from. Each run starts from the same seed.
    await c.call("EVAL_RO", "return math.random(1000000)", "0");
    const draw =
      "redis.call('SET', KEYS[1], math.random(1000000) .. ' ' .. math.random(1000000)) " +
      "return redis.call('GET', KEYS[1])";
    const first = await c.call("EVAL", draw, "1", "r1");
    assert.equal(await c.call("EVAL", draw, "1", "r2"), first);
    // Addresses differ between processes: a table's name is the order it was first named in.
    assert.equal(
      await c.call(
        "EVAL",
        "local t = {} local s = tostring(t) .. ' ' .. tostring(function() end) .. ' ' .. " +
          "tostring(t) .. ' ' .. tostring(setmetatable({}, {__tostring = function() return 'mine' end})) " +
          "redis.call('SET', KEYS[1], s) return s",
        "1",
        "names",
      ),
      "table: 0x00000001 function: 0x00000002 table: 0x00000001 mine",
    );
    assert.equal(
      await c.call(
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\n" +
          "redis.register_function('f', function(keys)\n" +
          "  redis.call('SET', keys[1], math.random(1000000) .. ' ' .. tostring({}))\n" +
          "  return _G.redis.pcall('SPOP', 's')\n" +
          "end)",
      ),
      "lib",
    );
    for (const key of ["f1", "f2"]) {
      const reply = await c.call("FCALL", "f", "1", key);
      assert.ok(reply instanceof RespError && /random results/.test(reply.message), `${reply}`);
    }
    assert.equal(await c.call("GET", "f1"), await c.call("GET", "f2"));
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
  }
});

Deno.test("scripts beyond --scripts-max-bytes still run by EVAL, but EVALSHA does not find them", async () => {
  const cluster = await TestCluster.start(1, ["--scripts-max-bytes", "100"]);
  try {
    const c = await cluster.nodes[0].client();
    const first = `return '${"a".repeat(50)}'`; // 60 bytes
    const second = `return '${"b".repeat(50)}'`;
    const firstSha = String(await c.call("SCRIPT", "LOAD", first));
    assert.equal(await c.call("EVALSHA", firstSha, "0"), "a".repeat(50));
    assert.equal(await c.call("EVAL", second, "0"), "b".repeat(50));
    const secondSha = createHash("sha1").update(second).digest("hex");
    assert.deepEqual(
      await c.call("EVALSHA", secondSha, "0"),
      new RespError("NOSCRIPT No matching script. Please use EVAL."),
    );
    c.close();
  } finally {
    await cluster.destroy();
  }
});
