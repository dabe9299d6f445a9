import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FileHardStateStore,
  HARD_STATE_FILE_NAME,
  MemoryHardStateStore,
} from "../../../src/storage/hard_state_store.ts";
import { loadIdentity, saveIdentity } from "../../../src/storage/identity_store.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "redisraft-state-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hard state: nothing saved loads as undefined", async () => {
  await withDir(async (dir) => {
    assert.equal(await new FileHardStateStore(dir).load(), undefined);
  });
});

Deno.test("hard state: save then load round-trips across store instances", async () => {
  await withDir(async (dir) => {
    const store = new FileHardStateStore(dir);
    await store.save({ term: 3, votedFor: 2, commitIndex: 17 });
    await store.save({ term: 2 ** 50, votedFor: 0, commitIndex: 2 ** 53 - 1 });
    assert.deepEqual(await new FileHardStateStore(dir).load(), {
      term: 2 ** 50,
      votedFor: 0,
      commitIndex: 2 ** 53 - 1,
    });
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.deepEqual(names, [HARD_STATE_FILE_NAME], "no temp file left behind");
  });
});

Deno.test("hard state: a damaged file is a loud error, not a fresh start", async () => {
  await withDir(async (dir) => {
    const store = new FileHardStateStore(dir);
    await store.save({ term: 31, votedFor: 2, commitIndex: 17 });
    const text = await Deno.readTextFile(store.path);
    await Deno.writeTextFile(store.path, text.replace('"term":31', '"term":41'));
    await assert.rejects(() => store.load(), /crc32c mismatch/);
    await Deno.writeTextFile(store.path, text.slice(0, 20));
    await assert.rejects(() => store.load(), /not valid JSON/);
    await Deno.writeTextFile(store.path, '{"term":1,"votedFor":0,"commitIndex":0}');
    await assert.rejects(() => store.load(), /missing crc32c/);
  });
});

Deno.test("hard state: invalid values are refused on save", async () => {
  await withDir(async (dir) => {
    const store = new FileHardStateStore(dir);
    await assert.rejects(() => store.save({ term: -1, votedFor: 0, commitIndex: 0 }));
    await assert.rejects(() => store.save({ term: 1.5, votedFor: 0, commitIndex: 0 }));
  });
});

Deno.test("hard state: a leftover temp file from a crash does not matter", async () => {
  await withDir(async (dir) => {
    const store = new FileHardStateStore(dir);
    await store.save({ term: 1, votedFor: 1, commitIndex: 0 });
    await Deno.writeTextFile(`${store.path}.tmp`, "half written");
    assert.deepEqual(await store.load(), { term: 1, votedFor: 1, commitIndex: 0 });
    await store.save({ term: 2, votedFor: 0, commitIndex: 1 });
    assert.deepEqual(await store.load(), { term: 2, votedFor: 0, commitIndex: 1 });
  });
});

Deno.test("hard state: the memory store keeps a copy", async () => {
  const store = new MemoryHardStateStore();
  assert.equal(await store.load(), undefined);
  const state = { term: 1, votedFor: 2, commitIndex: 3 };
  await store.save(state);
  assert.deepEqual(await store.load(), state);
});

Deno.test("identity: round-trips as readable JSON and refuses damage", async () => {
  await withDir(async (dir) => {
    assert.equal(await loadIdentity(dir), undefined);
    const identity = {
      nodeId: 7,
      dbid: "0123456789abcdef0123456789abcdef",
      addr: "127.0.0.1:5001",
    };
    await saveIdentity(dir, identity);
    assert.deepEqual(await loadIdentity(dir), identity);
    const path = join(dir, "identity.json");
    const parsed = JSON.parse(await Deno.readTextFile(path));
    assert.equal(parsed.addr, "127.0.0.1:5001");
    await Deno.writeTextFile(path, JSON.stringify({ ...parsed, addr: "127.0.0.1:5002" }));
    await assert.rejects(() => loadIdentity(dir), /crc32c mismatch/);
  });
});
