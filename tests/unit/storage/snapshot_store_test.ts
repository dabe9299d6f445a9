import assert from "node:assert/strict";
import { join } from "node:path";
import { SnapshotCorruptionError } from "../../../src/storage/snapshot_meta.ts";
import { StaleSnapshotError } from "../../../src/storage/snapshot_store.ts";
import {
  filesEqual,
  metaFor,
  openStore,
  snapshotDirNames,
  sourceRdb,
  withNodeDir,
  writeRandomFile,
} from "./snapshot_test_helpers.ts";

Deno.test("snapshot store: a fresh store has no snapshot", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    assert.equal(store.current(), undefined);
    await store.close();
    assert.deepEqual(snapshotDirNames(nodeDir), []);
  });
});

Deno.test("snapshot store: publish then reopen returns the same metadata and bytes", async () => {
  await withNodeDir(async (nodeDir) => {
    const { path, meta } = await sourceRdb(nodeDir, 10, 2, 100_000);
    const copyOfSource = join(nodeDir, "expected.rdb");
    await Deno.copyFile(path, copyOfSource);
    const store = await openStore(nodeDir);
    const published = await store.publish(path, meta);
    assert.equal(published.meta.index, 10);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound, "move takes the source away");
    await store.close();

    const reopened = await openStore(nodeDir);
    const current = reopened.current();
    assert.ok(current);
    assert.equal(current.meta.index, 10);
    assert.equal(current.meta.term, 2);
    assert.equal(current.meta.sizeBytes, 100_000);
    assert.deepEqual(current.meta.membership, meta.membership);
    assert.deepEqual(current.meta.extra, meta.extra);
    assert.ok(await filesEqual(current.rdbPath, copyOfSource));
    assert.deepEqual(snapshotDirNames(nodeDir), ["snapshot-10-2.rdb", "snapshot.meta"]);
    await reopened.close();
  });
});

Deno.test("snapshot store: copy mode leaves the source in place", async () => {
  await withNodeDir(async (nodeDir) => {
    const { path, meta } = await sourceRdb(nodeDir, 5, 1, 1000);
    const store = await openStore(nodeDir);
    const published = await store.publish(path, meta, "copy");
    assert.ok(await filesEqual(path, published.rdbPath));
    await store.close();
  });
});

Deno.test("snapshot store: a newer publish replaces the pair and removes the old RDB", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const first = await sourceRdb(nodeDir, 10, 2, 5000);
    await store.publish(first.path, first.meta);
    const second = await sourceRdb(nodeDir, 20, 3, 7000);
    await store.publish(second.path, second.meta);
    assert.equal(store.current()?.meta.index, 20);
    assert.deepEqual(snapshotDirNames(nodeDir), ["snapshot-20-3.rdb", "snapshot.meta"]);
    await store.close();
  });
});

Deno.test("snapshot store: publish refuses an older index and a wrong size", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const first = await sourceRdb(nodeDir, 10, 2, 5000);
    await store.publish(first.path, first.meta);
    const older = await sourceRdb(nodeDir, 10, 3, 5000);
    await assert.rejects(store.publish(older.path, older.meta), /not beyond the published 10/);
    await store.close();
  });
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const rdb = await sourceRdb(nodeDir, 10, 2, 5000);
    await assert.rejects(
      store.publish(rdb.path, { ...rdb.meta, sizeBytes: 4999 }),
      /meta says 4999 bytes, the RDB has 5000/,
    );
    await store.close();
  });
});

Deno.test("snapshot store: open removes leftovers the metadata does not name", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const rdb = await sourceRdb(nodeDir, 10, 2, 5000);
    await store.publish(rdb.path, rdb.meta);
    await store.close();
    const dir = join(nodeDir, "snapshot");
    await writeRandomFile(join(dir, "snapshot-11-2.rdb"), 100, 1);
    await writeRandomFile(join(dir, "receive-3-40.part"), 100, 2);
    await writeRandomFile(join(dir, "snapshot.meta.tmp"), 100, 3);
    await writeRandomFile(join(dir, "operator-notes.txt"), 10, 4);
    const reopened = await openStore(nodeDir);
    assert.equal(reopened.current()?.meta.index, 10);
    assert.deepEqual(snapshotDirNames(nodeDir), [
      "operator-notes.txt",
      "snapshot-10-2.rdb",
      "snapshot.meta",
    ]);
    await reopened.close();
  });
});

/** Publishes index 10, closes, applies `damage` to the directory, expects open to throw. */
async function assertOpenFailsAfter(
  damage: (dir: string) => Promise<void>,
  message: RegExp,
): Promise<void> {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const rdb = await sourceRdb(nodeDir, 10, 2, 50_000);
    await store.publish(rdb.path, rdb.meta);
    await store.close();
    await damage(join(nodeDir, "snapshot"));
    await assert.rejects(openStore(nodeDir), (error: Error) => {
      assert.ok(error instanceof SnapshotCorruptionError, `${error.name}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
  });
}

Deno.test("snapshot store: one flipped RDB byte is a loud error on open", async () => {
  await assertOpenFailsAfter(async (dir) => {
    const path = join(dir, "snapshot-10-2.rdb");
    const bytes = await Deno.readFile(path);
    bytes[30_000] ^= 0x01;
    await Deno.writeFile(path, bytes);
  }, /crc32c .* metadata says/);
});

Deno.test("snapshot store: a truncated RDB is a loud error on open", async () => {
  await assertOpenFailsAfter(
    (dir) => Deno.truncate(join(dir, "snapshot-10-2.rdb"), 49_999),
    /49999 bytes, metadata says 50000/,
  );
});

Deno.test("snapshot store: a missing RDB is a loud error on open", async () => {
  await assertOpenFailsAfter(
    (dir) => Deno.remove(join(dir, "snapshot-10-2.rdb")),
    /named by the metadata is missing/,
  );
});

Deno.test("snapshot store: edited metadata is a loud error on open", async () => {
  await assertOpenFailsAfter(async (dir) => {
    const path = join(dir, "snapshot.meta");
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace('"index":10', '"index":11'));
  }, /crc32c mismatch/);
  await assertOpenFailsAfter(
    (dir) => Deno.writeTextFile(join(dir, "snapshot.meta"), '{"index":1'),
    /not valid JSON/,
  );
});

Deno.test("snapshot store: readChunk serves the published RDB and refuses stale indexes", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir, { snapshotReadChunkMaxBytes: 4096 });
    await assert.rejects(store.readChunk(0, 10), StaleSnapshotError);
    const rdb = await sourceRdb(nodeDir, 10, 2, 10_000);
    const expected = await Deno.readFile(rdb.path);
    await store.publish(rdb.path, rdb.meta);
    assert.deepEqual(await store.readChunk(4096, 4096, 10), expected.subarray(4096, 8192));
    assert.deepEqual(await store.readChunk(8192, 4096), expected.subarray(8192), "short tail");
    assert.equal((await store.readChunk(10_000, 1)).length, 0, "offset at the end: empty");
    await assert.rejects(store.readChunk(0, 4096, 9), StaleSnapshotError);
    await assert.rejects(store.readChunk(0, 4097), /outside 0..4096/);
    await store.close();
  });
});

Deno.test("snapshot store: metadata with a bad field is refused before writing", async () => {
  await withNodeDir(async (nodeDir) => {
    const store = await openStore(nodeDir);
    const rdb = await sourceRdb(nodeDir, 10, 2, 100);
    const bad = { ...metaFor(10, 2, 100), membership: { members: [], usedNodeIds: [-1] } };
    await assert.rejects(store.publish(rdb.path, bad), /bad membership.usedNodeIds/);
    assert.equal(store.current(), undefined);
    await store.close();
  });
});
