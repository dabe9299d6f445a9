/**
 * Crash safety of one node: concurrent writers, `kill -9` mid-stream several times (the redis
 * child is left behind as after a real crash and must be replaced), restart, and check that
 * every acknowledged write is present exactly once and in order; and a start over a stale child
 * that stays a zombie.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { RespClient, RespError } from "../helpers/resp_client.ts";

const writerCount = 5;
const crashCount = 3;

interface WriterState {
  nextSeq: number;
  /** Values whose RPUSH was acknowledged. */
  ackedPushes: number[];
  /** Values sent whose outcome is unknown (the node died before replying). */
  unknownPushes: number[];
  ackedCounter: number;
  unknownIncrs: number;
}

async function runWriter(port: number, id: number, state: WriterState, stopAt: number) {
  let client: RespClient;
  try {
    client = await RespClient.connect(port);
  } catch {
    return;
  }
  try {
    while (Date.now() < stopAt) {
      const seq = state.nextSeq++;
      let pushReply;
      try {
        pushReply = await client.call("RPUSH", `list:${id}`, String(seq));
      } catch {
        state.unknownPushes.push(seq);
        return;
      }
      if (pushReply instanceof RespError) {
        state.unknownPushes.push(seq); // refused before the log (e.g. no leader yet): not applied
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      state.ackedPushes.push(seq);
      let incrReply;
      try {
        incrReply = await client.call("INCR", `counter:${id}`);
      } catch {
        state.unknownIncrs++;
        return;
      }
      if (typeof incrReply === "number") {
        assert.ok(incrReply > state.ackedCounter, "counter never goes back");
        state.ackedCounter = incrReply;
      }
    }
  } finally {
    client.close();
  }
}

Deno.test("kill -9 during concurrent writes loses no acknowledged write, duplicates none", async () => {
  const node = await NodeProcess.start();
  const states: WriterState[] = Array.from({ length: writerCount }, () => ({
    nextSeq: 1,
    ackedPushes: [],
    unknownPushes: [],
    ackedCounter: 0,
    unknownIncrs: 0,
  }));
  try {
    const admin = await node.client();
    await admin.call("RAFT.CLUSTER", "INIT");
    admin.close();
    for (let round = 0; round <= crashCount; round++) {
      const probe = await node.client();
      await waitFor(
        async () => (await probe.call("SET", "probe", "1")) === "OK",
        "leader ready",
        20_000,
      );
      probe.close();
      const writers = states.map((s, id) => runWriter(node.port, id, s, Date.now() + 1500));
      if (round < crashCount) {
        await new Promise((r) => setTimeout(r, 400 + round * 300));
        await node.crash(); // the redis child stays behind; the restart must replace it
        await Promise.all(writers);
        await node.spawn();
      } else {
        await Promise.all(writers);
      }
    }
    const client = await node.client();
    for (let id = 0; id < writerCount; id++) {
      const state = states[id];
      const list = (await client.call("LRANGE", `list:${id}`, "0", "-1") as string[]).map(Number);
      const seen = new Set(list);
      assert.equal(seen.size, list.length, `writer ${id}: no value twice`);
      for (let i = 1; i < list.length; i++) {
        assert.ok(list[i] > list[i - 1], `writer ${id}: in order`);
      }
      for (const seq of state.ackedPushes) {
        assert.ok(seen.has(seq), `writer ${id}: acked ${seq} present`);
      }
      const allowed = new Set([...state.ackedPushes, ...state.unknownPushes]);
      for (const value of list) assert.ok(allowed.has(value), `writer ${id}: ${value} was sent`);
      const counter = Number(await client.call("GET", `counter:${id}`) ?? 0);
      assert.ok(
        counter >= state.ackedCounter,
        `writer ${id}: counter ${counter} >= acked ${state.ackedCounter}`,
      );
      assert.ok(
        counter <= state.ackedCounter + state.unknownIncrs,
        `writer ${id}: counter not inflated`,
      );
      assert.ok(state.ackedPushes.length > 10, `writer ${id} made progress`);
    }
    client.close();
  } finally {
    await node.destroy();
  }
});

Deno.test("a node starts over a stale redis child that stays a zombie (its parent never reaps it)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redisraft-test-" });
  await Deno.mkdir(`${dir}/redis`);
  // A redis-server on the node's socket path, as a crashed node leaves it, under a parent that
  // never waits for its children (`sleep`, exec'd in place of the shell): killed, it stays a
  // zombie for as long as that parent lives.
  const holder = new Deno.Command("sh", {
    args: [
      "-c",
      'redis-server --port 0 --unixsocket "$1/redis/redis.sock" --save "" --appendonly no ' +
      '>/dev/null 2>&1 & echo $! > "$1/redis/redis.pid"; exec sleep 60',
      "sh",
      dir,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let node: NodeProcess | undefined;
  try {
    const stalePid = await waitFor(async () => {
      const pid = Number(
        (await Deno.readTextFile(`${dir}/redis/redis.pid`).catch(() => "")).trim(),
      );
      if (!pid) return undefined;
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      return cmdline.includes(`${dir}/redis/redis.sock`) ? pid : undefined;
    }, "the stale child running");
    node = await NodeProcess.start({ dir });
    const stat = await Deno.readTextFile(`/proc/${stalePid}/stat`);
    assert.match(stat, /^\d+ \(.*\) Z /, "the stale child was killed and is still a zombie");
    assert.notEqual(node.childPid(), stalePid);
    const client = await node.client();
    try {
      assert.equal(await client.call("RAFT.DEBUG", "EXEC", "PING"), "PONG");
    } finally {
      client.close();
    }
    assert.match(await node.log(), /stopping stale redis child pid \d+ left by an earlier run/);
  } finally {
    await node?.destroy();
    holder.kill("SIGKILL");
    await holder.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
