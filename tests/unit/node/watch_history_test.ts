import assert from "node:assert/strict";
import { encodeWatchHistory, WatchHistory } from "../../../src/node/watch_history.ts";
import { CommandTable } from "../../../src/redis/command_table.ts";
import { PipelinedConnection } from "../../../src/redis/pipelined_connection.ts";
import { decodeReply, encodeCommand } from "../../../src/resp/mod.ts";
import { concatBytes } from "../../../src/resp/bytes.ts";
import { startPlainRedis } from "../../helpers/plain_redis.ts";

/** The command table of a real redis-server, as the node builds it from its child. */
async function realCommandTable(): Promise<CommandTable> {
  const redis = await startPlainRedis([]);
  try {
    const conn = await PipelinedConnection.connectTcp(`127.0.0.1:${redis.port}`, new Uint8Array());
    const reply = decodeReply(await conn.request(encodeCommand(["COMMAND"])));
    conn.close();
    return new CommandTable(reply as unknown[]);
  } finally {
    await redis.stop();
  }
}

const table = await realCommandTable();
const set = (key: string, bytes = 1) => encodeCommand(["SET", key, "v".repeat(bytes)]);
const keys = (...names: string[]) => new Set(names);

Deno.test("watch history: a write to a watched key after the watch aborts, others do not", () => {
  const history = new WatchHistory({ maxEntries: 100, maxBytes: 1 << 20 }, () => table);
  history.record(1, set("a"));
  history.record(2, encodeCommand(["GET", "b"]));
  history.record(3, set("c"));
  assert.equal(history.modifiedSince(0, keys("a")), true);
  assert.equal(history.modifiedSince(1, keys("a")), false, "the write at the watch index is seen");
  assert.equal(history.modifiedSince(1, keys("b")), false, "reads change nothing");
  assert.equal(history.modifiedSince(2, keys("c", "x")), true);
  history.record(4, encodeCommand(["FLUSHALL"]));
  assert.equal(history.modifiedSince(3, keys("zzz")), true, "FLUSHALL touches every key");
});

Deno.test("watch history: bounded in bytes too; a watch older than what it holds aborts", () => {
  const history = new WatchHistory({ maxEntries: 100, maxBytes: 4096 }, () => table);
  for (let i = 1; i <= 10; i++) history.record(i, set(`k${i}`, 1000));
  // About four 1 KB writes fit: the oldest ones are gone, so a watch from before them aborts.
  assert.equal(history.modifiedSince(9, keys("k1")), false);
  assert.equal(history.modifiedSince(2, keys("nothing-wrote-this")), true);
  assert.equal(history.modifiedSince(7, keys("nothing-wrote-this")), false);
  const state = history.capture();
  assert.ok(state.writes.reduce((sum, write) => sum + write.byteLength, 0) <= 4096);
  assert.deepEqual(state.indexes, state.indexes.map((_, i) => 10 - state.indexes.length + 1 + i));
});

/** The binary part as a snapshot file holds it: the slices one after another. */
const joined = (parts: Iterable<Uint8Array>) => concatBytes([...parts]);

/** What snapshots of earlier versions carried: the whole history in their JSON. */
function legacyState(history: WatchHistory) {
  const { evictedIndex, indexes, writes } = history.capture();
  return {
    evictedIndex,
    indexes,
    sizes: writes.map((write) => write.byteLength),
    payloads: btoa(String.fromCharCode(...joined(writes))),
  };
}

for (const form of ["binary", "legacy JSON"]) {
  Deno.test(`watch history: restored from a snapshot (${form}), it answers and evicts exactly as the original`, () => {
    const limits = { maxEntries: 50, maxBytes: 1 << 20 };
    const original = new WatchHistory(limits, () => table);
    for (let i = 1; i <= 80; i++) original.record(i, set(`k${i % 30}`, i));
    const restored = new WatchHistory(limits, () => table);
    if (form === "binary") {
      const { header, binary } = encodeWatchHistory(original.capture());
      restored.restore(80, JSON.parse(JSON.stringify(header)), joined(binary));
    } else {
      restored.restore(80, JSON.parse(JSON.stringify(legacyState(original))));
    }
    const fresh = new WatchHistory(limits, () => table);
    fresh.restore(80, undefined); // a snapshot from before histories were kept
    for (let i = 81; i <= 120; i++) {
      original.record(i, set(`k${i % 30}`, i));
      restored.record(i, set(`k${i % 30}`, i));
    }
    for (let watch = 60; watch <= 120; watch += 3) {
      for (let k = 0; k < 30; k += 7) {
        const watched = keys(`k${k}`);
        assert.equal(
          restored.modifiedSince(watch, watched),
          original.modifiedSince(watch, watched),
        );
      }
    }
    assert.deepEqual(restored.capture(), original.capture());
    assert.equal(fresh.modifiedSince(79, keys("nothing-wrote-this")), true, "no history: abort");
  });
}

Deno.test("watch history: a binary part shorter than its header says is refused", () => {
  const history = new WatchHistory({ maxEntries: 50, maxBytes: 1 << 20 }, () => table);
  for (let i = 1; i <= 5; i++) history.record(i, set(`k${i}`, 10));
  const { header, binary } = encodeWatchHistory(history.capture());
  const bytes = joined(binary);
  const restored = new WatchHistory({ maxEntries: 50, maxBytes: 1 << 20 }, () => table);
  assert.throws(
    () => restored.restore(5, header, bytes.subarray(0, bytes.length - 1)),
    /end early/,
  );
  assert.throws(() => restored.restore(5, { ...header, count: 1000 }, bytes), /does not fit/);
});
