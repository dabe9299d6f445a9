import assert from "node:assert/strict";
import { FsyncBatcher } from "../../../src/storage/fsync_batcher.ts";

Deno.test("fsync batcher: submissions behind a running flush share the next one", async () => {
  const flushes: number[][] = [];
  let release!: () => void;
  let gate = new Promise<void>((resolve) => release = resolve);
  const batcher = new FsyncBatcher<number>(async (items) => {
    flushes.push([...items]);
    await gate;
  });
  const first = batcher.submit([1]);
  await Promise.resolve();
  await Promise.resolve();
  const waiting = [batcher.submit([2]), batcher.submit([3, 4]), batcher.submit([5])];
  release();
  gate = Promise.resolve();
  await Promise.all([first, ...waiting]);
  assert.deepEqual(flushes, [[1], [2, 3, 4, 5]]);
});

Deno.test("fsync batcher: operations run in call order; later submissions flush after them", async () => {
  const events: string[] = [];
  const batcher = new FsyncBatcher<string>((items) => {
    events.push(`flush ${items.join(",")}`);
    return Promise.resolve();
  });
  const a = batcher.submit(["a"]);
  const op = batcher.run(() => {
    events.push("op");
    return Promise.resolve(42);
  });
  const b = batcher.submit(["b"]);
  assert.equal(await op, 42);
  await Promise.all([a, b, batcher.barrier()]);
  assert.deepEqual(events, ["flush a", "op", "flush b"]);
});

Deno.test("fsync batcher: filterQueued drops items of flushes not yet started", async () => {
  const flushes: number[][] = [];
  const batcher = new FsyncBatcher<number>((items) => {
    flushes.push([...items]);
    return Promise.resolve();
  });
  const done = batcher.submit([1, 2, 3, 4]);
  batcher.filterQueued((item) => item < 3);
  await done;
  assert.deepEqual(flushes, [[1, 2]]);
});

Deno.test("fsync batcher: a failure rejects everything queued and later", async () => {
  const batcher = new FsyncBatcher<number>(() => Promise.reject(new Error("disk gone")));
  const first = batcher.submit([1]);
  const op = batcher.run(() => Promise.resolve());
  await assert.rejects(first, /disk gone/);
  await assert.rejects(op, /disk gone/);
  await assert.rejects(batcher.submit([2]), /disk gone/);
  assert.match(batcher.failure?.message ?? "", /disk gone/);
});
