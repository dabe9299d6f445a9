/** Unit: a snapshot file's trailer, with and without a binary part, on real files. */
import assert from "node:assert/strict";
import { appendTrailer, encodeTrailer, readTrailer } from "../../../src/node/snapshot_trailer.ts";

const rdb = new TextEncoder().encode("REDIS0011-fake-rdb-bytes");

async function withFile(bytes: Uint8Array, body: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "redisraft-trailer-" });
  try {
    await Deno.writeFile(path, bytes);
    await body(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("snapshot trailer: the binary part and the state come back as written, the RDB untouched", async () => {
  // Slices around the write size: many small ones, then one larger than a write.
  const slices = [
    ...Array.from({ length: 5000 }, (_, i) => new Uint8Array(300).fill(i % 251)),
    new Uint8Array(3 * 1024 * 1024).fill(7),
  ];
  const totalBytes = slices.reduce((sum, slice) => sum + slice.byteLength, 0);
  await withFile(rdb, async (path) => {
    const extra = { scriptsBinary: ["x"], watchHistory: { evictedIndex: 3, count: 2 } };
    const size = await appendTrailer(path, extra, slices);
    assert.equal(size, (await Deno.stat(path)).size);
    const trailer = await readTrailer(path);
    assert.deepEqual(trailer.extra, extra);
    assert.equal(trailer.binary.length, totalBytes);
    let offset = 0;
    for (const slice of slices) {
      assert.deepEqual(trailer.binary.subarray(offset, offset + slice.length), slice);
      offset += slice.length;
    }
    const file = await Deno.readFile(path);
    assert.deepEqual(file.subarray(0, rdb.length), rdb);
  });
});

Deno.test("snapshot trailer: one from before binary parts reads as its JSON with no binary part", async () => {
  const extra = {
    blocked: [],
    watchHistory: { evictedIndex: 0, indexes: [], sizes: [], payloads: "" },
  };
  await withFile(new Uint8Array([...rdb, ...encodeTrailer(extra)]), async (path) => {
    const trailer = await readTrailer(path);
    assert.deepEqual(trailer.extra, extra);
    assert.equal(trailer.binary.length, 0);
  });
});

Deno.test("snapshot trailer: a binary length beyond the file is refused", async () => {
  const bytes = new Uint8Array([...rdb, ...encodeTrailer({}, rdb.length + 1)]);
  await withFile(bytes, async (path) => {
    await assert.rejects(readTrailer(path), /binary length .* is corrupt/);
  });
});
