/**
 * Crash points: a test-only hook throws after each publish step (of `publish` and of a
 * receive's `complete`), the store is abandoned as a crashed process would leave it, and
 * a fresh store must then show exactly the old pair (before the metadata rename) or
 * exactly the new pair (after it), with no other file of ours left behind.
 *
 * A thrown hook models a process crash (written data stays in the page cache); power
 * loss is covered by the fsync order, argued in snapshot_store.ts.
 */
import assert from "node:assert/strict";
import type { SnapshotPublishStep } from "../../../src/storage/snapshot_store.ts";
import {
  filesEqual,
  openStore,
  snapshotDirNames,
  sourceRdb,
  withNodeDir,
} from "./snapshot_test_helpers.ts";
import { join } from "node:path";

const STEPS: readonly SnapshotPublishStep[] = [
  "rdb-placed",
  "rdb-synced",
  "meta-tmp-written",
  "meta-renamed",
  "meta-synced",
  "old-rdb-removed",
];

/** Steps after which the new pair is the published one. */
const COMMITTED = new Set<SnapshotPublishStep>(["meta-renamed", "meta-synced", "old-rdb-removed"]);

class SimulatedCrash extends Error {}

function crashAt(step: SnapshotPublishStep): (at: SnapshotPublishStep) => void {
  return (at) => {
    if (at === step) throw new SimulatedCrash(`crash after ${at}`);
  };
}

type Publisher = "publish" | "receive";

async function runCrash(step: SnapshotPublishStep, publisher: Publisher, withOld: boolean) {
  await withNodeDir(async (nodeDir) => {
    const setup = await openStore(nodeDir);
    const old = await sourceRdb(nodeDir, 10, 2, 20_000);
    const oldCopy = join(nodeDir, "old-expected.rdb");
    await Deno.copyFile(old.path, oldCopy);
    if (withOld) await setup.publish(old.path, old.meta);
    await setup.close();

    const next = await sourceRdb(nodeDir, 20, 3, 30_000);
    const nextCopy = join(nodeDir, "next-expected.rdb");
    await Deno.copyFile(next.path, nextCopy);
    const crashing = await openStore(nodeDir, { crashHook: crashAt(step) });
    let attempt: Promise<unknown>;
    if (publisher === "publish") {
      attempt = crashing.publish(next.path, next.meta);
    } else {
      const receiver = await crashing.beginReceive({ term: 3, index: 20 });
      assert.ok(await receiver.writeChunk(0, await Deno.readFile(next.path)));
      attempt = receiver.complete(next.meta);
    }
    await assert.rejects(attempt, SimulatedCrash);
    assert.throws(() => crashing.current(), /failed earlier/, "a crashed store refuses use");
    await crashing.close();

    const reopened = await openStore(nodeDir);
    const current = reopened.current();
    const label = `${publisher} crash after ${step}${withOld ? "" : " (no old snapshot)"}`;
    if (COMMITTED.has(step)) {
      assert.equal(current?.meta.index, 20, label);
      assert.ok(await filesEqual(current.rdbPath, nextCopy), label);
      assert.deepEqual(snapshotDirNames(nodeDir), ["snapshot-20-3.rdb", "snapshot.meta"], label);
    } else if (withOld) {
      assert.equal(current?.meta.index, 10, label);
      assert.ok(await filesEqual(current.rdbPath, oldCopy), label);
      assert.deepEqual(snapshotDirNames(nodeDir), ["snapshot-10-2.rdb", "snapshot.meta"], label);
    } else {
      assert.equal(current, undefined, label);
      assert.deepEqual(snapshotDirNames(nodeDir), [], label);
    }
    await reopened.close();
  });
}

for (const publisher of ["publish", "receive"] as const) {
  Deno.test(`snapshot crash: ${publisher} leaves the old or the new pair at every step`, async () => {
    for (const step of STEPS) {
      await runCrash(step, publisher, true);
      if (step !== "old-rdb-removed") await runCrash(step, publisher, false);
    }
  });
}

Deno.test("snapshot crash: a receive interrupted midway leaves only garbage", async () => {
  await withNodeDir(async (nodeDir) => {
    const setup = await openStore(nodeDir);
    const old = await sourceRdb(nodeDir, 10, 2, 20_000);
    await setup.publish(old.path, old.meta);
    const next = await sourceRdb(nodeDir, 20, 3, 30_000);
    const bytes = await Deno.readFile(next.path);
    const receiver = await setup.beginReceive({ term: 3, index: 20 });
    assert.ok(await receiver.writeChunk(0, bytes.subarray(0, 12_000)));
    // The process dies here: no abort, no close.

    const reopened = await openStore(nodeDir);
    assert.equal(reopened.current()?.meta.index, 10);
    assert.deepEqual(snapshotDirNames(nodeDir), ["snapshot-10-2.rdb", "snapshot.meta"]);
    await reopened.close();
    await setup.close();
  });
});
