import assert from "node:assert/strict";
import { join } from "node:path";
import { startRdbSnapshot } from "../../../src/redis/rdb_snapshot.ts";
import { installRdb, prepareChildRdb } from "../../../src/redis/rdb_install.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import { decodeReply } from "../../../src/resp/reply_decoder.ts";
import { SnapshotStore } from "../../../src/storage/snapshot_store.ts";
import { command, connect, type TestChild, withChildren } from "./rdb_test_helpers.ts";

const LOAD_TIMEOUT_MS = 10_000;

function snapshotOptions(source: TestChild, bgsaveTimeoutMs = 20_000) {
  return { socketPath: source.child.socketPath, rdbPath: source.rdbPath, bgsaveTimeoutMs };
}

Deno.test("rdb snapshot: BGSAVE on the apply connection captures exactly the writes sent before it", async () => {
  await withChildren(async (make) => {
    const source = make("source");
    await source.child.start();
    const apply = await connect(source.child);
    // Slow the fork down so that writes sent after BGSAVE run while it is saving.
    await command(apply, "CONFIG", "SET", "rdb-key-save-delay", "20000");
    const replies: Promise<Uint8Array>[] = [];
    replies.push(apply.request(encodeCommand(["SET", "a", "1"])));
    replies.push(apply.request(encodeCommand(["RPUSH", "list", "x", "y"])));
    const snapshot = startRdbSnapshot(apply, snapshotOptions(source));
    replies.push(apply.request(encodeCommand(["SET", "b", "2"])));
    replies.push(apply.request(encodeCommand(["DEL", "a"])));
    replies.push(apply.request(encodeCommand(["RPUSH", "list", "z"])));
    let afterRepliedAtMs = 0;
    Promise.all(replies).then(() => afterRepliedAtMs = Date.now());
    const result = await snapshot;
    const snapshotDoneAtMs = Date.now();
    assert.ok(afterRepliedAtMs > 0, "writes after BGSAVE were applied while it was saving");
    assert.ok(afterRepliedAtMs <= snapshotDoneAtMs);
    assert.equal(result.rdbPath, source.rdbPath);
    assert.equal(result.sizeBytes, (await Deno.stat(source.rdbPath)).size);
    assert.deepEqual(await command(apply, "MGET", "a", "b"), [null, "2"], "live state moved on");
    apply.close();

    const fresh = make("fresh");
    const installed = await installRdb({
      child: fresh.child,
      childRdbPath: fresh.rdbPath,
      snapshotRdbPath: result.rdbPath,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
    });
    assert.equal(installed.keys, 2);
    const check = await connect(fresh.child);
    assert.deepEqual(await command(check, "MGET", "a", "b"), ["1", null]);
    assert.deepEqual(await command(check, "LRANGE", "list", "0", "-1"), ["x", "y"]);
    check.close();
  });
});

Deno.test("rdb snapshot: a second BGSAVE while one runs is refused, and a slow one times out", async () => {
  await withChildren(async (make) => {
    const source = make("source");
    await source.child.start();
    const apply = await connect(source.child);
    await command(apply, "DEBUG", "POPULATE", "200");
    await command(apply, "CONFIG", "SET", "rdb-key-save-delay", "5000");
    const slow = startRdbSnapshot(apply, snapshotOptions(source, 200));
    const second = startRdbSnapshot(apply, snapshotOptions(source));
    await assert.rejects(second, /BGSAVE: ERR Background save already in progress/);
    await assert.rejects(slow, /did not finish within 200 ms/);
    await command(apply, "CONFIG", "SET", "rdb-key-save-delay", "0");
    // The timed-out save still finishes in the background; wait for it, then save again.
    while (true) {
      const info = decodeReply(await apply.request(encodeCommand(["INFO", "persistence"])));
      if (String(info).includes("rdb_bgsave_in_progress:0")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const again = await startRdbSnapshot(apply, snapshotOptions(source));
    assert.ok(again.sizeBytes > 0);
    apply.close();
  });
});

Deno.test("rdb install: restarting a child on a snapshot replaces its whole dataset", async () => {
  await withChildren(async (make) => {
    const source = make("source");
    await source.child.start();
    const apply = await connect(source.child);
    await command(apply, "DEBUG", "POPULATE", "1000", "snap");
    const snapshot = await startRdbSnapshot(apply, snapshotOptions(source));
    apply.close();

    const target = make("target");
    await target.child.start();
    const before = await connect(target.child);
    await command(before, "SET", "only-on-target", "1");
    const lost = before.request(encodeCommand(["BLPOP", "nothing", "0"]));
    const installed = await installRdb({
      child: target.child,
      childRdbPath: target.rdbPath,
      snapshotRdbPath: snapshot.rdbPath,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
    });
    assert.match(new TextDecoder().decode(await lost), /connection lost/);
    before.close();
    assert.equal(installed.keys, 1000);
    const after = await connect(target.child);
    assert.equal(await command(after, "EXISTS", "only-on-target"), 0);
    assert.equal(await command(after, "GET", "snap:7"), "value:7");
    after.close();
  });
});

Deno.test("rdb install: a leftover RDB from an unpublished BGSAVE is never loaded", async () => {
  await withChildren(async (make) => {
    const node = make("node");
    await node.child.start();
    const apply = await connect(node.child);
    await command(apply, "SET", "unpublished", "1");
    await startRdbSnapshot(apply, snapshotOptions(node));
    apply.close();
    await Deno.writeFile(join(node.dir, "temp-12345.rdb"), new Uint8Array(10));
    // The node crashes here, before publishing; on restart there is no snapshot.
    const restarted = await installRdb({
      child: node.child,
      childRdbPath: node.rdbPath,
      snapshotRdbPath: undefined,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
    });
    assert.equal(restarted.keys, 0);
    await assert.rejects(Deno.stat(join(node.dir, "temp-12345.rdb")), Deno.errors.NotFound);
  });
});

Deno.test("rdb install: writes to the child's RDB after install never reach the published snapshot", async () => {
  await withChildren(async (make, root) => {
    const node = make("node");
    const store = new SnapshotStore({ nodeDir: join(root, "nodeDir") });
    await store.open();
    await node.child.start();
    let apply = await connect(node.child);
    await command(apply, "SET", "k", "v1");
    const first = await startRdbSnapshot(apply, snapshotOptions(node));
    const published = await store.publish(first.rdbPath, {
      index: 7,
      term: 1,
      sizeBytes: first.sizeBytes,
      membership: { members: [{ id: 1, addr: "a:1", voter: true }], usedNodeIds: [1] },
    });
    apply.close();
    await installRdb({
      child: node.child,
      childRdbPath: node.rdbPath,
      snapshotRdbPath: published.rdbPath,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
    });
    const file = await Deno.open(node.rdbPath, { append: true });
    await file.write(new Uint8Array([1, 2, 3]));
    file.close();
    apply = await connect(node.child);
    await command(apply, "SET", "k", "v2");
    await startRdbSnapshot(apply, snapshotOptions(node));
    apply.close();
    await store.close();
    const reopened = new SnapshotStore({ nodeDir: join(root, "nodeDir") });
    await reopened.open(); // verifies size and CRC of the published RDB
    assert.equal(reopened.current()?.meta.index, 7);
    await reopened.close();
  });
});

Deno.test("rdb install: prepareChildRdb copies the snapshot in and removes it again", async () => {
  await withChildren(async (_make, root) => {
    const snapshotPath = join(root, "snap.rdb");
    await Deno.writeFile(snapshotPath, new Uint8Array([1, 2, 3]));
    const childRdb = join(root, "child", "state.rdb");
    await prepareChildRdb(childRdb, snapshotPath);
    assert.deepEqual(await Deno.readFile(childRdb), new Uint8Array([1, 2, 3]));
    await prepareChildRdb(childRdb, undefined);
    await assert.rejects(Deno.stat(childRdb), Deno.errors.NotFound);
    await prepareChildRdb(childRdb, undefined);
  });
});
