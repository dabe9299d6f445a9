import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeRecord,
  RECORD_HEADER_BYTES,
  recordBytes,
} from "../../../src/storage/record_codec.ts";
import { segmentFileName } from "../../../src/storage/segment_index.ts";
import { LogCorruptionError } from "../../../src/storage/segment_scan.ts";
import { SegmentedLog, type SegmentedLogOptions } from "../../../src/storage/segmented_log.ts";
import { assertContents, record, records } from "./log_store_conformance.ts";

type Options = Omit<SegmentedLogOptions, "dir">;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "redisraft-log-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function openLog(dir: string, options: Options = {}): Promise<SegmentedLog> {
  const log = new SegmentedLog({ dir, ...options });
  await log.open();
  return log;
}

async function writeLog(dir: string, count: number, options: Options = {}): Promise<void> {
  const log = await openLog(dir, options);
  log.append(records(1, count, 1));
  await log.sync();
  await log.close();
}

/** Appends records 1..`last` (term 1), `perSync` at a time, syncing each batch. */
async function appendInSyncedBatches(log: SegmentedLog, last: number, perSync: number) {
  for (let index = 1; index <= last; index += perSync) {
    log.append(records(index, index + perSync - 1, 1));
    await log.sync();
  }
}

async function segmentFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(dir, "log"))) names.push(entry.name);
  return names.sort();
}

function segmentPath(dir: string, firstIndex: number): string {
  return join(dir, "log", segmentFileName(firstIndex));
}

/** Byte offset of each record in a segment holding `records(first, ..., 1)`. */
function offsetsOf(first: number, last: number): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (let index = first; index <= last; index++) {
    offsets.push(offset);
    offset += RECORD_HEADER_BYTES + record(index, 1).data.byteLength;
  }
  offsets.push(offset);
  return offsets;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[offset] ^= 0x5a;
  await Deno.writeFile(path, bytes);
}

Deno.test("segmented log: a torn last record at every byte offset is cut and appending resumes", async () => {
  await withDir(async (dir) => {
    const count = 5;
    await writeLog(dir, count);
    const path = segmentPath(dir, 1);
    const pristine = await Deno.readFile(path);
    const offsets = offsetsOf(1, count);
    assert.equal(pristine.length, offsets[count]);
    for (let cut = offsets[count - 1]; cut < offsets[count]; cut++) {
      await Deno.writeFile(path, pristine.subarray(0, cut));
      const log = await openLog(dir);
      await assertContents(log, records(1, count - 1, 1));
      if (cut > offsets[count - 1]) {
        assert.equal(log.tailTruncation?.offset, offsets[count - 1], `cut at ${cut}`);
        assert.equal(log.tailTruncation?.droppedBytes, cut - offsets[count - 1]);
      }
      assert.equal((await Deno.stat(path)).size, offsets[count - 1], "the cut is on disk");
      log.append([record(count, 2)]);
      await log.sync();
      await log.close();
      const reopened = await openLog(dir);
      await assertContents(reopened, [...records(1, count - 1, 1), record(count, 2)]);
      assert.equal(reopened.tailTruncation, undefined);
      await reopened.close();
    }
  });
});

Deno.test("segmented log: a crc mismatch in the last record is a torn tail", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 6);
    const offsets = offsetsOf(1, 6);
    await flipByte(segmentPath(dir, 1), offsets[5] + RECORD_HEADER_BYTES + 2);
    const log = await openLog(dir);
    await assertContents(log, records(1, 5, 1));
    assert.equal(log.tailTruncation?.reason, "crc32c mismatch");
    await log.close();
  });
});

Deno.test("segmented log: a corrupt length in the last record is a torn tail", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 6);
    const offsets = offsetsOf(1, 6);
    await flipByte(segmentPath(dir, 1), offsets[5] + 3);
    const log = await openLog(dir);
    await assertContents(log, records(1, 5, 1));
    await log.close();
  });
});

Deno.test("segmented log: a crc mismatch before the tail names the file and offset", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 6);
    const offsets = offsetsOf(1, 6);
    const path = segmentPath(dir, 1);
    await flipByte(path, offsets[2] + RECORD_HEADER_BYTES + 1);
    const before = await Deno.readFile(path);
    await assert.rejects(() => openLog(dir), (error: unknown) => {
      assert.ok(error instanceof LogCorruptionError);
      assert.equal(error.path, path);
      assert.equal(error.offset, offsets[2]);
      assert.match(error.message, new RegExp(`${segmentFileName(1)} at byte ${offsets[2]}`));
      return true;
    });
    assert.deepEqual(await Deno.readFile(path), before, "nothing is cut on corruption");
  });
});

Deno.test("segmented log: a corrupt length before the tail is a loud error", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 6);
    const offsets = offsetsOf(1, 6);
    await flipByte(segmentPath(dir, 1), offsets[1]);
    await assert.rejects(() => openLog(dir), LogCorruptionError);
  });
});

Deno.test("segmented log: damage in a segment that is not the last is a loud error", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 200 };
    await writeLog(dir, 30, options);
    const names = await segmentFiles(dir);
    assert.ok(names.length > 2);
    const firstPath = join(dir, "log", names[0]);
    const size = (await Deno.stat(firstPath)).size;
    await flipByte(firstPath, size - 1);
    await assert.rejects(() => openLog(dir, options), (error: unknown) => {
      assert.ok(error instanceof LogCorruptionError);
      assert.equal(error.path, firstPath);
      return true;
    });
    // A torn (short) non-last segment is corruption too.
    await flipByte(firstPath, size - 1);
    await Deno.truncate(firstPath, size - 3);
    await assert.rejects(() => openLog(dir, options), LogCorruptionError);
  });
});

Deno.test("segmented log: a missing middle segment is an index gap error", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 200 };
    await writeLog(dir, 30, options);
    const names = await segmentFiles(dir);
    await Deno.remove(join(dir, "log", names[1]));
    await assert.rejects(() => openLog(dir, options), /index gap/);
  });
});

Deno.test("segmented log: a record with the wrong index is a loud error", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 3);
    await Deno.rename(segmentPath(dir, 1), segmentPath(dir, 2));
    await assert.rejects(() => openLog(dir), /record index 1, expected 2/);
  });
});

Deno.test("segmented log: segments roll over at segmentMaxBytes and reopen across them", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 256, tailCacheMaxBytes: 0 };
    const log = await openLog(dir, options);
    await appendInSyncedBatches(log, 100, 10);
    const names = await segmentFiles(dir);
    assert.equal(names.length, log.segmentCount);
    assert.ok(names.length >= 10, `${names.length} segments`);
    assert.equal(names[0], segmentFileName(1));
    for (const name of names) {
      assert.ok((await Deno.stat(join(dir, "log", name))).size <= 256);
    }
    assert.equal(log.sizeBytes, offsetsOf(1, 100)[100]);
    await log.close();
    const reopened = await openLog(dir, options);
    await assertContents(reopened, records(1, 100, 1));
    assert.equal(reopened.segmentCount, names.length);
    await reopened.close();
  });
});

Deno.test("segmented log: a record larger than segmentMaxBytes gets a segment of its own", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 100 };
    const log = await openLog(dir, options);
    const big = { index: 3, term: 1, type: 0, data: new Uint8Array(500).fill(7) };
    log.append([record(1, 1), record(2, 1), big, record(4, 1)]);
    await log.sync();
    assert.deepEqual(await segmentFiles(dir), [1, 3, 4].map(segmentFileName));
    await log.close();
    const reopened = await openLog(dir, options);
    await assertContents(reopened, [record(1, 1), record(2, 1), big, record(4, 1)]);
    await reopened.close();
  });
});

Deno.test("segmented log: large payloads, written from their own buffers, frame as small ones do", async () => {
  await withDir(async (dir) => {
    const large = (index: number, size: number) => ({
      index,
      term: 2,
      type: 1,
      data: new Uint8Array(size).map((_, i) => (i * 31 + index) % 256),
    });
    const written = [record(1, 2), large(2, 64 * 1024), large(3, 300 * 1024), record(4, 2)];
    const log = await openLog(dir);
    log.append(written.slice(0, 3));
    await log.sync();
    log.append(written.slice(3));
    await log.sync();
    await log.close();
    // The file holds exactly the frames encodeRecord makes, one after the other.
    const expected = new Uint8Array(written.reduce((n, r) => n + recordBytes(r), 0));
    let offset = 0;
    for (const r of written) offset = encodeRecord(expected, offset, r);
    const file = await Deno.readFile(segmentPath(dir, 1));
    assert.deepEqual(file.subarray(0, expected.length), expected);
    const reopened = await openLog(dir);
    await assertContents(reopened, written);
    await reopened.close();
  });
});

Deno.test("segmented log: records beyond recordMaxBytes are refused", async () => {
  await withDir(async (dir) => {
    const log = await openLog(dir, { recordMaxBytes: RECORD_HEADER_BYTES + 10 });
    assert.throws(() => log.append([{ index: 1, term: 1, type: 0, data: new Uint8Array(11) }]));
    log.append([{ index: 1, term: 1, type: 0, data: new Uint8Array(10) }]);
    await log.sync();
    await log.close();
  });
});

Deno.test("segmented log: truncateSuffix across a segment boundary deletes later segments", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 256 };
    const log = await openLog(dir, options);
    log.append(records(1, 60, 1));
    await log.sync();
    const before = await segmentFiles(dir);
    assert.ok(before.length >= 6);
    const secondFirstIndex = Number(before[1].slice(0, 20));
    // Cut inside the second segment: the rest of it and all later files go.
    await log.truncateSuffix(secondFirstIndex + 2);
    assert.deepEqual(await segmentFiles(dir), before.slice(0, 2));
    assert.equal(
      (await Deno.stat(segmentPath(dir, secondFirstIndex))).size,
      offsetsOf(secondFirstIndex, secondFirstIndex + 2)[2],
    );
    // Cut exactly at a segment's first record: that file goes too.
    await log.truncateSuffix(secondFirstIndex);
    assert.deepEqual(await segmentFiles(dir), before.slice(0, 1));
    log.append(records(secondFirstIndex, secondFirstIndex + 20, 2));
    await log.sync();
    await log.close();
    const reopened = await openLog(dir, options);
    await assertContents(reopened, [
      ...records(1, secondFirstIndex - 1, 1),
      ...records(secondFirstIndex, secondFirstIndex + 20, 2),
    ]);
    await reopened.close();
  });
});

Deno.test("segmented log: compactPrefix deletes whole segments only", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 256 };
    const log = await openLog(dir, options);
    log.append(records(1, 60, 1));
    await log.sync();
    const before = await segmentFiles(dir);
    const thirdFirstIndex = Number(before[2].slice(0, 20));
    await log.compactPrefix(thirdFirstIndex - 1);
    assert.equal(log.firstIndex, thirdFirstIndex);
    assert.deepEqual(await segmentFiles(dir), before.slice(2));
    await log.compactPrefix(thirdFirstIndex);
    assert.equal(log.firstIndex, thirdFirstIndex, "a partly covered segment stays");
    await log.compactPrefix(1000);
    assert.deepEqual(await segmentFiles(dir), before.slice(-1), "the last segment stays");
    await assertContents(log, records(log.firstIndex, 60, 1));
    const first = log.firstIndex;
    await log.close();
    const reopened = await openLog(dir, options);
    assert.equal(reopened.firstIndex, first);
    await assertContents(reopened, records(first, 60, 1));
    await reopened.close();
  });
});

Deno.test("segmented log: reads come from the files once the tail cache evicts", async () => {
  await withDir(async (dir) => {
    const log = await openLog(dir, { segmentMaxBytes: 300, tailCacheMaxBytes: 64 });
    log.append(records(1, 50, 1));
    await log.sync();
    await assertContents(log, records(1, 50, 1));
    await log.close();
  });
});

Deno.test("segmented log: on-disk damage found by read is a loud error", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 10);
    const log = await openLog(dir, { tailCacheMaxBytes: 0 });
    await flipByte(segmentPath(dir, 1), offsetsOf(1, 10)[3] + RECORD_HEADER_BYTES);
    await assert.rejects(() => log.read(1, 10), /on read: crc32c mismatch/);
    await log.close();
  });
});

Deno.test("segmented log: a reset interrupted by a crash is completed on open", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, 20, { segmentMaxBytes: 200 });
    const { AtomicFile } = await import("../../../src/storage/atomic_file.ts");
    const { encodeChecksummedJson } = await import("../../../src/storage/checksummed_json.ts");
    // The state right after the marker was written, before any segment was removed.
    await new AtomicFile(join(dir, "log", "reset.json")).write(
      encodeChecksummedJson({ nextIndex: 77 }),
    );
    const log = await openLog(dir);
    assert.equal(log.firstIndex, 77);
    assert.equal(log.lastIndex, 76);
    assert.deepEqual(await segmentFiles(dir), [segmentFileName(77)]);
    await log.close();
  });
});

Deno.test("segmented log: concurrent proposals share fdatasyncs and report timings", async () => {
  await withDir(async (dir) => {
    const log = await openLog(dir);
    const proposals = 500;
    let next = 1;
    await Promise.all(
      Array.from({ length: proposals }, async () => {
        log.append([record(next++, 1)]);
        await log.sync();
      }),
    );
    const { syncCount, syncMicrosecondsMax, syncMicrosecondsAvg } = log.stats;
    assert.equal(log.syncedIndex, proposals);
    assert.ok(syncCount >= 1 && syncCount <= 5, `${syncCount} fdatasyncs for ${proposals}`);
    assert.ok(syncMicrosecondsMax >= syncMicrosecondsAvg && syncMicrosecondsAvg >= 0);
    // Callers arriving while a sync is in flight share the next one.
    log.append([record(next++, 1)]);
    const first = log.sync();
    const followers = Array.from({ length: 50 }, () => {
      log.append([record(next++, 1)]);
      return log.sync();
    });
    await Promise.all([first, ...followers]);
    assert.ok(log.stats.syncCount - syncCount <= 2, `${log.stats.syncCount - syncCount} syncs`);
    await log.close();
  });
});

Deno.test("segmented log: a failed write poisons the log", async () => {
  await withDir(async (dir) => {
    const log = await openLog(dir);
    log.append(records(1, 3, 1));
    await log.sync();
    await Deno.remove(join(dir, "log"), { recursive: true });
    await log.reset(10).catch(() => {});
    await assert.rejects(() => log.sync());
    assert.throws(() => log.append([record(4, 1)]));
    await log.close();
  });
});

Deno.test("segmented log: preallocated zeros are free space on reopen, across segments, never cut", async () => {
  await withDir(async (dir) => {
    const options = { segmentMaxBytes: 400, preallocateBytes: 150 };
    const log = await openLog(dir, options);
    await appendInSyncedBatches(log, 40, 4);
    await log.close();
    const names = await segmentFiles(dir);
    assert.ok(names.length >= 3, `${names.length} segments`);
    const sizes = await Promise.all(
      names.map(async (n) => (await Deno.stat(join(dir, "log", n))).size),
    );
    const last = await Deno.readFile(join(dir, "log", names[names.length - 1]));
    assert.equal(last[last.length - 1], 0, "the last segment ends in preallocated zeros");
    const reopened = await openLog(dir, options);
    await assertContents(reopened, records(1, 40, 1));
    assert.equal(reopened.tailTruncation, undefined);
    const after = await Promise.all(
      names.map(async (n) => (await Deno.stat(join(dir, "log", n))).size),
    );
    assert.deepEqual(after, sizes, "nothing was cut");
    reopened.append(records(41, 44, 2));
    await reopened.sync();
    await reopened.close();
    const again = await openLog(dir, options);
    await assertContents(again, [...records(1, 40, 1), ...records(41, 44, 2)]);
    await again.close();
  });
});

Deno.test("segmented log: with preallocation, a damaged last record is still a torn tail, and garbage after zeros is not free space", async () => {
  await withDir(async (dir) => {
    const options = { preallocateBytes: 4096 };
    await writeLog(dir, 6, options);
    const path = segmentPath(dir, 1);
    const offsets = offsetsOf(1, 6);
    assert.ok((await Deno.stat(path)).size > offsets[6]);
    await flipByte(path, offsets[5] + RECORD_HEADER_BYTES + 1);
    const log = await openLog(dir, options);
    await assertContents(log, records(1, 5, 1));
    assert.equal(log.tailTruncation?.reason, "crc32c mismatch");
    assert.equal((await Deno.stat(path)).size, offsets[5], "the torn record and the zeros are cut");
    await log.close();
    // A stray non-zero byte far into the zeros is not free space either: cut as a torn tail.
    const bytes = await Deno.readFile(path);
    const grown = new Uint8Array(bytes.length + 2048);
    grown.set(bytes);
    grown[grown.length - 1] = 7;
    await Deno.writeFile(path, grown);
    const reopened = await openLog(dir, options);
    await assertContents(reopened, records(1, 5, 1));
    assert.equal(reopened.tailTruncation?.offset, offsets[5]);
    await reopened.close();
  });
});
