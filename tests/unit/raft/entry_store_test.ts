/**
 * The compact entry store behind the core's log: entries come back as they went in, across
 * truncation, prefix drops and chunk boundaries; views handed out stay valid; chunks no held
 * entry uses are released.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ENTRY_CHUNK_BYTES,
  EntryStore,
  RECENT_ENTRIES_COUNT,
  RECENT_ENTRIES_MAX_BYTES,
} from "../../../src/raft/entry_store.ts";
import { survivorCount } from "../../helpers/collectable.ts";
import { type Entry, EntryType } from "../../../src/raft/mod.ts";

function entry(index: number, term: number, bytes: number): Entry {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + i) & 0xff;
  return { index, term, type: bytes === 0 ? EntryType.NoOp : EntryType.Normal, data };
}

function heldChunks(store: EntryStore): number {
  return (store as unknown as { chunks: Map<number, Uint8Array> }).chunks.size;
}

Deno.test("entry store: entries of every size come back as they went in", () => {
  const store = new EntryStore();
  const sizes = [0, 1, 50, ENTRY_CHUNK_BYTES / 16, ENTRY_CHUNK_BYTES + 3, 7, 0, 4000];
  const written = sizes.map((bytes, i) => entry(i + 1, 1 + (i >> 1), bytes));
  for (const e of written) store.push(e);
  assert.equal(store.length, written.length);
  written.forEach((e, position) => {
    assert.deepEqual(store.get(position, e.index), e);
    assert.equal(store.term(position), e.term);
    assert.equal(store.dataBytes(position), e.data.length);
  });
});

Deno.test("entry store: truncate and re-append; views handed out keep their bytes", () => {
  const store = new EntryStore();
  // More than the ring of recent entries: the early ones are read back from the chunks.
  const count = RECENT_ENTRIES_COUNT + 200;
  for (let i = 1; i <= count; i++) store.push(entry(i, 1, 20));
  const handedOut = store.get(59, 60);
  assert.notEqual(handedOut.data.buffer.byteLength, 20, "expected a view into a chunk");
  const before = handedOut.data.slice();
  store.truncate(50);
  assert.equal(store.length, 50);
  for (let i = 51; i <= count; i++) store.push(entry(i, 2, 25));
  assert.deepEqual(handedOut.data, before, "a replaced entry's view was overwritten");
  assert.deepEqual(store.get(59, 60), entry(60, 2, 25));
  assert.deepEqual(store.get(49, 50), entry(50, 1, 20));
  // Recent entries: the replacement, never the entry the truncation cut.
  store.truncate(count - 11);
  store.push(entry(count - 10, 3, 5));
  assert.deepEqual(store.get(count - 11, count - 10), entry(count - 10, 3, 5));
});

Deno.test("entry store: dropping a prefix releases the chunks only it used", () => {
  const store = new EntryStore();
  const perChunk = 1024;
  const bytes = ENTRY_CHUNK_BYTES / perChunk;
  for (let i = 1; i <= 5 * perChunk; i++) store.push(entry(i, 1, bytes));
  assert.equal(heldChunks(store), 5);
  store.dropPrefix(2 * perChunk + 10);
  assert.equal(heldChunks(store), 3, "the third chunk still holds live entries");
  assert.deepEqual(store.get(0, 2 * perChunk + 11), entry(2 * perChunk + 11, 1, bytes));
  for (let dropped = 0; dropped < 3 * perChunk - 10; dropped += 1000) {
    store.dropPrefix(Math.min(1000, store.length));
  }
  assert.equal(store.length, 0);
  assert.equal(heldChunks(store), 1, "only the chunk being filled stays");
  store.push(entry(9000, 3, 10));
  assert.deepEqual(store.get(0, 9000), entry(9000, 3, 10));
  store.clear();
  assert.equal(store.length, 0);
});

Deno.test("entry store: the ring of recent entries keeps at most its byte bound of payloads alive", async () => {
  const store = new EntryStore();
  const refs: WeakRef<object>[] = [];
  const push = (count: number, bytes: number, from: number) => {
    for (let i = 0; i < count; i++) {
      const e = entry(from + i, 1, bytes);
      refs.push(new WeakRef(e.data));
      store.push(e);
    }
  };
  // Large payloads are held as they are: once dropped from the log nothing may keep them.
  push(300, ENTRY_CHUNK_BYTES / 8, 1);
  store.dropPrefix(store.length);
  assert.equal(await survivorCount(refs), 0);
  // Small ones are copied into chunks; the originals the ring keeps are bounded in bytes.
  refs.length = 0;
  const smallBytes = 30 * 1024;
  push(RECENT_ENTRIES_COUNT, smallBytes, 301);
  store.dropPrefix(store.length - 1);
  const kept = await survivorCount(refs);
  assert.ok(
    kept * smallBytes <= RECENT_ENTRIES_MAX_BYTES,
    `${kept} payloads of ${smallBytes} bytes kept`,
  );
  const last = 301 + RECENT_ENTRIES_COUNT - 1;
  assert.deepEqual(store.get(0, last), entry(last, 1, smallBytes));
});
