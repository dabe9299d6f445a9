/**
 * Snapshot transfer through the store's two sides: the leader's `readChunk` feeding a
 * follower's `SnapshotReceiver` chunk by chunk, as the peer transport will.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SnapshotStore } from "../../../src/storage/snapshot_store.ts";
import { SnapshotTooLargeError } from "../../../src/storage/snapshot_receiver.ts";
import type { SnapshotMetaInput } from "../../../src/storage/snapshot_meta.ts";
import {
  filesEqual,
  openStore,
  snapshotDirNames,
  sourceRdb,
  withNodeDir,
} from "./snapshot_test_helpers.ts";

const CHUNK_BYTES = 64 * 1024;
const RDB_BYTES = 6 * 1024 * 1024 + 12_345;

async function leaderWithSnapshot(
  nodeDir: string,
): Promise<{ leader: SnapshotStore; meta: SnapshotMetaInput; expectedPath: string }> {
  await Deno.mkdir(join(nodeDir, "leader"));
  const rdb = await sourceRdb(nodeDir, 500, 4, RDB_BYTES);
  const expectedPath = join(nodeDir, "expected.rdb");
  await Deno.copyFile(rdb.path, expectedPath);
  const leader = await openStore(join(nodeDir, "leader"), {
    snapshotReadChunkMaxBytes: CHUNK_BYTES,
  });
  await leader.publish(rdb.path, rdb.meta);
  return { leader, meta: rdb.meta, expectedPath };
}

Deno.test("snapshot transfer: small in-order chunks reproduce the RDB byte for byte", async () => {
  await withNodeDir(async (nodeDir) => {
    const { leader, meta, expectedPath } = await leaderWithSnapshot(nodeDir);
    const followerDir = join(nodeDir, "follower");
    await Deno.mkdir(followerDir);
    const follower = await openStore(followerDir, { snapshotReceiveMaxBytes: RDB_BYTES });
    const key = { term: 4, index: 500 };
    let largestChunkBytes = 0;
    for (let offset = 0; offset < meta.sizeBytes; offset += CHUNK_BYTES) {
      const chunk = await leader.readChunk(offset, CHUNK_BYTES, meta.index);
      largestChunkBytes = Math.max(largestChunkBytes, chunk.length);
      const receiver = await follower.beginReceive(key);
      assert.ok(await receiver.writeChunk(offset, chunk));
    }
    assert.equal(largestChunkBytes, CHUNK_BYTES, "memory per step is one chunk");
    const received = follower.activeReceiver;
    assert.ok(received);
    assert.equal(received.nextOffsetBytes, RDB_BYTES);
    const published = await received.complete(meta);
    assert.equal(follower.activeReceiver, undefined);
    assert.ok(await filesEqual(published.rdbPath, expectedPath));
    assert.equal(published.meta.rdbCrc32c, leader.current()?.meta.rdbCrc32c);
    await follower.close();
    await leader.close();

    const reopened = await openStore(followerDir);
    assert.equal(reopened.current()?.meta.index, 500, "the received pair verifies on open");
    assert.deepEqual(snapshotDirNames(followerDir), ["snapshot-500-4.rdb", "snapshot.meta"]);
    await reopened.close();
  });
});

Deno.test("snapshot transfer: out-of-order chunks are refused without changing anything", async () => {
  await withNodeDir(async (nodeDir) => {
    const { leader, meta, expectedPath } = await leaderWithSnapshot(nodeDir);
    const follower = await openStore(join(nodeDir, "follower"));
    const receiver = await follower.beginReceive({ term: 4, index: 500 });
    const chunkAt = (offset: number) => leader.readChunk(offset, CHUNK_BYTES);
    assert.ok(await receiver.writeChunk(0, await chunkAt(0)));
    assert.equal(await receiver.writeChunk(2 * CHUNK_BYTES, await chunkAt(2 * CHUNK_BYTES)), false);
    assert.equal(await receiver.writeChunk(CHUNK_BYTES - 1, new Uint8Array(10)), false);
    assert.equal(receiver.nextOffsetBytes, CHUNK_BYTES, "a refused chunk changes nothing");
    await assert.rejects(receiver.complete(meta), /received 65536 bytes of a/);
    assert.equal(follower.current(), undefined, "a partial snapshot is never published");
    for (let offset = CHUNK_BYTES; offset < meta.sizeBytes; offset += CHUNK_BYTES) {
      assert.ok(await receiver.writeChunk(offset, await chunkAt(offset)));
    }
    const published = await receiver.complete(meta);
    assert.ok(await filesEqual(published.rdbPath, expectedPath));
    await follower.close();
    await leader.close();
  });
});

Deno.test("snapshot transfer: offset 0 and a new key both restart cleanly", async () => {
  await withNodeDir(async (nodeDir) => {
    const { leader, meta, expectedPath } = await leaderWithSnapshot(nodeDir);
    const followerDir = join(nodeDir, "follower");
    const follower = await openStore(followerDir);
    const stale = await follower.beginReceive({ term: 3, index: 400 });
    assert.ok(await stale.writeChunk(0, new Uint8Array(1000).fill(7)));
    assert.deepEqual(snapshotDirNames(followerDir), ["receive-3-400.part"]);

    const receiver = await follower.beginReceive({ term: 4, index: 500 });
    assert.notEqual(receiver, stale);
    assert.equal(stale.isOpen, false, "a new key aborts the old receive");
    assert.deepEqual(snapshotDirNames(followerDir), ["receive-4-500.part"]);
    assert.equal(await follower.beginReceive({ term: 4, index: 500 }), receiver, "same key");

    assert.ok(await receiver.writeChunk(0, new Uint8Array(CHUNK_BYTES).fill(9)));
    assert.ok(await receiver.writeChunk(0, await leader.readChunk(0, CHUNK_BYTES)), "restart");
    assert.equal(receiver.nextOffsetBytes, CHUNK_BYTES);
    for (let offset = CHUNK_BYTES; offset < meta.sizeBytes; offset += CHUNK_BYTES) {
      assert.ok(await receiver.writeChunk(offset, await leader.readChunk(offset, CHUNK_BYTES)));
    }
    const published = await receiver.complete(meta);
    assert.ok(await filesEqual(published.rdbPath, expectedPath));
    assert.deepEqual(snapshotDirNames(followerDir), ["snapshot-500-4.rdb", "snapshot.meta"]);
    await follower.close();
    await leader.close();
  });
});

Deno.test("snapshot transfer: a snapshot beyond snapshotReceiveMaxBytes is refused and dropped", async () => {
  await withNodeDir(async (nodeDir) => {
    const followerDir = join(nodeDir, "follower");
    const follower = await openStore(followerDir, { snapshotReceiveMaxBytes: 100_000 });
    const receiver = await follower.beginReceive({ term: 1, index: 9 });
    assert.ok(await receiver.writeChunk(0, new Uint8Array(60_000)));
    await assert.rejects(
      receiver.writeChunk(60_000, new Uint8Array(40_001)),
      SnapshotTooLargeError,
    );
    assert.equal(receiver.isOpen, false);
    assert.deepEqual(snapshotDirNames(followerDir), [], "disk use never exceeds the limit");
    await assert.rejects(receiver.writeChunk(0, new Uint8Array(1)), /is aborted/);
    await follower.close();
  });
});

Deno.test("snapshot transfer: abort removes the temp file and publishes nothing", async () => {
  await withNodeDir(async (nodeDir) => {
    const follower = await openStore(nodeDir);
    const receiver = await follower.beginReceive({ term: 1, index: 9 });
    assert.ok(await receiver.writeChunk(0, new Uint8Array(500)));
    await receiver.abort();
    await receiver.abort();
    assert.deepEqual(snapshotDirNames(nodeDir), []);
    assert.equal(follower.current(), undefined);
    assert.equal(follower.activeReceiver, undefined);
    await follower.close();
  });
});
