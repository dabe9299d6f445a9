/**
 * Integration: MONITOR on a node shows the commands its clients send as Redis 7.0 does (the same
 * lines as plain Redis for the same commands, bar the time and address and the commands a script
 * runs inside the child), refuses a monitor the keyspace as Redis does, hides the peers' internal
 * traffic, and disconnects a monitor that does not read.
 */
import assert from "node:assert/strict";
import { OpenClients, type Reply, RespClient, RespError } from "../helpers/resp_client.ts";
import { NodeProcess } from "../helpers/node_process.ts";
import { encodeCommands } from "../helpers/reply_frames.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { parseClients } from "../helpers/client_list.ts";

const linePattern = /^(\d{10})\.(\d{6}) \[0 ([^\]]+)\] (.*)$/;
const endMarker = "monitor-end";
const binaryValue = new Uint8Array([0x78, 0x0a, 0x79, 0x22, 0x01, 0xff, 0x5c, 0x09]);

/** What a client sends while another monitors: shown, refused, admin and redacted commands. */
const scenario: (string | Uint8Array)[][] = [
  ["SET", "plain", "v"],
  ["SET", "a b", binaryValue],
  ["MULTI"],
  ["SET", "t", "1"],
  ["GET", "t"],
  ["EXEC"],
  ["MULTI"],
  ["GET"],
  ["EXEC"],
  ["EVAL", "return redis.call('SET', KEYS[1], 'v')", "1", "e"],
  ["AUTH", "secret"],
  ["HELLO", "2", "AUTH", "default", "password"],
  ["NOSUCH", "x"],
  ["GET"],
  ["CONFIG", "GET", "maxmemory"],
  ["CLIENT", "LIST"],
  ["BLPOP", "nothing", "0.05"],
  ["CLIENT", "INFO"],
  ["WAIT", "0", "0"],
  ["DEL", "plain"],
  ["ECHO", endMarker],
];

/** Monitor lines (without the leading '+') until the end marker's, at most 100. */
async function linesUntilEnd(monitor: RespClient): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    const line = String(await monitor.read(10_000));
    lines.push(line);
    if (line.endsWith(`"ECHO" "${endMarker}"`)) return lines;
  }
  throw new Error(`no end marker in ${lines.join("\n")}`);
}

/** Run the scenario on `port` while a monitor watches; the lines and the sender's address. */
async function monitorScenario(port: number): Promise<{ lines: string[]; addr: string }> {
  const monitor = await RespClient.connect(port);
  const worker = await RespClient.connect(port);
  try {
    assert.equal(await monitor.call("MONITOR"), "OK");
    const [info] = parseClients(await worker.call("CLIENT", "INFO"));
    const lines = linesUntilEnd(monitor);
    for (const command of scenario) await worker.call(...command);
    return { lines: (await lines).slice(1), addr: info.get("addr")! }; // its CLIENT INFO first
  } finally {
    monitor.close();
    worker.close();
  }
}

Deno.test("MONITOR shows what plain Redis's shows for the same commands", async () => {
  const cluster = await TestCluster.start(3);
  const plain = await startPlainRedis([]);
  try {
    const leader = await cluster.leader();
    const ours = await monitorScenario(leader.port);
    const theirs = await monitorScenario(plain.port);
    const shown = (lines: string[], addr: string) =>
      lines.map((line) => {
        const match = linePattern.exec(line);
        assert.ok(match, line);
        if (match[3] === "lua") return null; // a script's own commands: the child runs those
        assert.equal(match[3], addr, line);
        assert.ok(Math.abs(Number(match[1]) - Date.now() / 1000) < 120, line);
        return match[4];
      }).filter((line) => line !== null);
    const ourArgs = shown(ours.lines, ours.addr);
    assert.deepEqual(ourArgs, shown(theirs.lines, theirs.addr));
    assert.ok(ourArgs.includes(String.raw`"SET" "a b" "x\ny\"\x01\xff\\\t"`), ourArgs.join("\n"));
    assert.ok(ourArgs.includes(`"AUTH" "(redacted)"`), ourArgs.join("\n"));
    assert.ok(ourArgs.includes(`"HELLO" "2" "AUTH" "(redacted)" "(redacted)"`));
    assert.ok(!ourArgs.some((line) => /CONFIG|NOSUCH|"LIST"/.test(line)), ourArgs.join("\n"));
  } finally {
    await plain.stop();
    await cluster.destroy();
  }
});

/** A monitor's own pipeline: its replies and lines, in order, with times and addresses masked. */
async function monitorSession(port: number): Promise<string[]> {
  const monitor = await RespClient.connect(port);
  try {
    await monitor.sendRaw(encodeCommands([
      ["MONITOR"],
      ["MONITOR"], // ignored, as Redis: no reply
      ["GET", "x"],
      ["EVAL", "return 1", "0"],
      ["PUBLISH", "channel", "message"],
      ["MULTI"],
      ["GET", "x"],
      ["EXEC"],
      ["PING"],
      ["RESET"],
      ["GET", "x"],
      ["ECHO", endMarker],
    ]));
    const frames: string[] = [];
    for (let i = 0; i < 30 && !frames.at(-1)?.includes(endMarker); i++) {
      frames.push((await monitor.readRaw(10_000)).replace(/^\+\d+\.\d+ \[0 [^\]]+\]/, "+<line>"));
    }
    return frames;
  } finally {
    monitor.close();
  }
}

Deno.test("MONITOR: a monitor's own commands and refusals as Redis's, until RESET", async () => {
  const cluster = await TestCluster.start(1);
  const plain = await startPlainRedis([]);
  try {
    const port = cluster.nodes[0].port;
    const ours = await monitorSession(port);
    assert.deepEqual(ours, await monitorSession(plain.port));
    assert.ok(ours.includes("-ERR Replica can't interact with the keyspace\r\n"), ours.join(""));
    assert.ok(ours.includes('+<line> "PING"\r\n'), ours.join(""));

    // CLIENT LIST flags a monitor O; RESET makes it a normal client; MULTI refuses MONITOR.
    const monitor = await RespClient.connect(port);
    const admin = await RespClient.connect(port);
    try {
      const id = String(await monitor.call("CLIENT", "ID"));
      const flags = async () =>
        parseClients(await admin.call("CLIENT", "LIST", "ID", id))[0].get("flags");
      assert.equal(await monitor.call("MONITOR"), "OK");
      assert.equal(await flags(), "O");
      assert.equal(await monitor.call("RESET"), "RESET");
      assert.equal(await flags(), "N");
      assert.equal(await monitor.call("MULTI"), "OK");
      assert.deepEqual(
        await monitor.call("MONITOR"),
        new RespError("ERR MONITOR isn't allowed for DENY BLOCKING client"),
      );
      assert.deepEqual(
        await monitor.call("EXEC"),
        new RespError("EXECABORT Transaction discarded because of previous errors."),
      );
      assert.equal(await flags(), "N");
    } finally {
      monitor.close();
      admin.close();
    }
  } finally {
    await plain.stop();
    await cluster.destroy();
  }
});

Deno.test("MONITOR on a follower shows its clients; no node shows the peers' RAFT.* traffic", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    const onLeader = await leader.client();
    const onFollower = await follower.client();
    const client = await follower.client();
    const writer = await leader.client();
    try {
      assert.equal(await onLeader.call("MONITOR"), "OK");
      assert.equal(await onFollower.call("MONITOR"), "OK");
      const followerLines = linesUntilEnd(onFollower);
      const leaderLines = linesUntilEnd(onLeader);
      const moved = await client.call("SET", "k", "v");
      assert.match(String(moved), /^MOVED 0 /);
      // Writes replicate and heartbeats flow meanwhile: none of that is a client's command.
      for (let i = 0; i < 20; i++) assert.equal(await writer.call("SET", `w${i}`, "v"), "OK");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await client.call("ECHO", endMarker), endMarker);
      assert.equal(await writer.call("ECHO", endMarker), endMarker);
      const seenOnFollower = (await followerLines).map((line) => linePattern.exec(line)![4]);
      assert.deepEqual(seenOnFollower, [`"SET" "k" "v"`, `"ECHO" "${endMarker}"`]);
      const seenOnLeader = (await leaderLines).map((line) => linePattern.exec(line)![4]);
      assert.equal(seenOnLeader.length, 21, seenOnLeader.join("\n"));
      assert.ok(!seenOnLeader.some((line) => /raft\./i.test(line)), seenOnLeader.join("\n"));
    } finally {
      for (const c of [onLeader, onFollower, client, writer]) c.close();
    }
  } finally {
    await cluster.destroy();
  }
});

Deno.test("MONITOR: a monitor that does not read is disconnected at the reply buffer limit", async () => {
  const limitBytes = 1 << 20;
  const cluster = await TestCluster.start(1, [
    "--client-reply-buffer-max-bytes",
    String(limitBytes),
  ]);
  const port = cluster.nodes[0].port;
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  const writer = await RespClient.connect(port);
  try {
    await silent.write(new TextEncoder().encode("*1\r\n$7\r\nMONITOR\r\n"));
    const monitors = async () =>
      parseClients(await writer.call("CLIENT", "LIST")).filter((c) => c.get("flags") === "O");
    for (let i = 0; i < 50 && (await monitors()).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await monitors()).length, 1);
    // About 40 MiB of lines: more than the socket buffers and the limit can hold.
    const value = "v".repeat(64 * 1024);
    let replies: Reply[] = [];
    for (let batch = 0; batch < 20 && (await monitors()).length > 0; batch++) {
      replies = await writer.pipeline(
        Array.from({ length: 32 }, (_, i) => ["SET", `big${i}`, value]),
      );
      assert.ok(replies.every((reply) => reply === "OK"), String(replies));
    }
    assert.equal((await monitors()).length, 0, "the monitor that does not read is gone");
    assert.equal(await writer.call("GET", "big0"), value, "the node serves on");
  } finally {
    silent.close();
    writer.close();
    await cluster.destroy();
  }
});

Deno.test("MONITOR with a password: the monitor must AUTH; NOAUTH refusals are not shown, AUTH is", async () => {
  const password = "monitor-secret";
  const node = await NodeProcess.start({ args: ["--requirepass", password] });
  const clients = new OpenClients();
  try {
    const stranger = await clients.connect(node.port);
    assert.match(String(await stranger.call("MONITOR")), /^NOAUTH /);
    const monitor = await clients.connect(node.port);
    assert.equal(await monitor.call("AUTH", password), "OK");
    assert.equal(await monitor.call("MONITOR"), "OK");
    const lines = linesUntilEnd(monitor);
    const other = await clients.connect(node.port);
    // As plain Redis with requirepass: a command refused for NOAUTH never ran, AUTH did.
    assert.match(String(await other.call("GET", "k")), /^NOAUTH /);
    assert.match(String(await other.call("AUTH", "wrong")), /^WRONGPASS /);
    assert.equal(await other.call("AUTH", password), "OK");
    assert.equal(await other.call("ECHO", endMarker), endMarker);
    assert.deepEqual((await lines).map((line) => linePattern.exec(line)![4]), [
      `"AUTH" "(redacted)"`,
      `"AUTH" "(redacted)"`,
      `"ECHO" "${endMarker}"`,
    ]);
  } finally {
    clients.closeAll();
    await node.destroy();
  }
});
