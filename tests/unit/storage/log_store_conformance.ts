/**
 * The behaviour every {@link LogStore} must show, run against the segmented log and
 * the in-memory log. "Reopen" opens a fresh store on the same durable storage, the way
 * a restart after a crash would: only what was durable survives.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RECORD_HEADER_BYTES } from "../../../src/storage/record_codec.ts";
import type { LogRecord, LogStore } from "../../../src/storage/types.ts";

export interface LogStoreHarness {
  /** A new, opened store over the harness's durable storage. */
  open(): Promise<LogStore>;
  cleanup(): Promise<void>;
}

export function record(index: number, term: number, text = `entry-${index}-${term}`): LogRecord {
  return { index, term, type: index % 5, data: new TextEncoder().encode(text) };
}

export function records(from: number, to: number, term: number): LogRecord[] {
  const out: LogRecord[] = [];
  for (let index = from; index <= to; index++) out.push(record(index, term));
  return out;
}

/** Asserts `log` holds exactly `expected` (index, term, type and bytes). */
export async function assertContents(log: LogStore, expected: LogRecord[]): Promise<void> {
  if (expected.length === 0) {
    assert.equal(log.lastIndex, log.firstIndex - 1, "log is empty");
    return;
  }
  assert.equal(log.firstIndex, expected[0].index, "firstIndex");
  assert.equal(log.lastIndex, expected[expected.length - 1].index, "lastIndex");
  const actual = await log.read(log.firstIndex, log.lastIndex);
  assert.deepEqual(actual.map(plain), expected.map(plain));
  for (const r of expected) assert.equal(log.termAt(r.index), r.term);
}

function plain(r: LogRecord) {
  return { index: r.index, term: r.term, type: r.type, data: Array.from(r.data) };
}

export function logStoreConformance(name: string, makeHarness: () => Promise<LogStoreHarness>) {
  function scenario(title: string, body: (h: LogStoreHarness) => Promise<void>) {
    Deno.test(`${name}: ${title}`, async () => {
      const harness = await makeHarness();
      try {
        await body(harness);
      } finally {
        await harness.cleanup();
      }
    });
  }

  scenario("a fresh log is empty and starts at index 1", async (h) => {
    const log = await h.open();
    assert.equal(log.firstIndex, 1);
    assert.equal(log.lastIndex, 0);
    assert.equal(log.syncedIndex, 0);
    assert.equal(log.termAt(1), undefined);
    await assert.rejects(() => log.read(1, 1), RangeError);
    await log.sync();
    await log.close();
  });

  scenario("appended records are visible at once and durable after sync", async (h) => {
    const log = await h.open();
    const batch = records(1, 5, 1);
    log.append(batch);
    assert.equal(log.lastIndex, 5);
    assert.equal(log.syncedIndex, 0);
    await assertContents(log, batch);
    await log.sync();
    assert.equal(log.syncedIndex, 5);
    assert.equal(log.stats.syncCount >= 1, true);
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, batch);
    assert.equal(reopened.syncedIndex, 5);
    await reopened.close();
  });

  scenario("append refuses gaps, overlaps and decreasing terms", async (h) => {
    const log = await h.open();
    log.append(records(1, 3, 2));
    assert.throws(() => log.append([record(5, 2)]));
    assert.throws(() => log.append([record(3, 2)]));
    assert.throws(() => log.append([record(4, 1)]));
    assert.throws(() => log.append([record(4, 2), record(6, 2)]));
    assert.equal(log.lastIndex, 3, "a refused batch appends nothing");
    await log.close();
  });

  scenario("reopen keeps synced records and loses unsynced ones", async (h) => {
    const log = await h.open();
    log.append(records(1, 20, 1));
    await log.sync();
    log.append(records(21, 30, 2));
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, records(1, 20, 1));
    reopened.append(records(21, 22, 3));
    await reopened.sync();
    await reopened.close();
    const again = await h.open();
    await assertContents(again, [...records(1, 20, 1), ...records(21, 22, 3)]);
    await again.close();
  });

  scenario("read returns inclusive ranges and honours maxBytes", async (h) => {
    const log = await h.open();
    const all = records(1, 40, 1);
    log.append(all.slice(0, 25));
    await log.sync();
    log.append(all.slice(25));
    const middle = await log.read(10, 30);
    assert.deepEqual(middle.map((r) => r.index), range(10, 30));
    const one = await log.read(7, 7);
    assert.equal(one[0].index, 7);
    const payloadBytes = all[0].data.byteLength;
    const limited = await log.read(1, 40, payloadBytes * 3);
    assert.deepEqual(limited.map((r) => r.index), [1, 2, 3]);
    const atLeastOne = await log.read(5, 40, 1);
    assert.deepEqual(atLeastOne.map((r) => r.index), [5]);
    await assert.rejects(() => log.read(0, 3), RangeError);
    await assert.rejects(() => log.read(39, 41), RangeError);
    await assert.rejects(() => log.read(5, 4), RangeError);
    await log.close();
  });

  scenario("records keep their exact bytes and types", async (h) => {
    const log = await h.open();
    const batch: LogRecord[] = [];
    for (let i = 1; i <= 8; i++) {
      const data = new Uint8Array(i * 37);
      for (let b = 0; b < data.length; b++) data[b] = (b * 31 + i) & 0xff;
      batch.push({ index: i, term: 2 ** 40 + i, type: (i * 53) % 256, data });
    }
    batch.push({ index: 9, term: 2 ** 53 - 1, type: 255, data: new Uint8Array(0) });
    log.append(batch);
    await log.sync();
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, batch);
    await reopened.close();
  });

  scenario("truncateSuffix drops records at once and durably", async (h) => {
    const log = await h.open();
    log.append(records(1, 30, 1));
    await log.sync();
    await log.truncateSuffix(11);
    assert.equal(log.lastIndex, 10);
    assert.equal(log.syncedIndex, 10);
    assert.equal(log.termAt(11), undefined);
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, records(1, 10, 1));
    reopened.append(records(11, 12, 2));
    await reopened.sync();
    await reopened.close();
    const again = await h.open();
    await assertContents(again, [...records(1, 10, 1), ...records(11, 12, 2)]);
    await again.close();
  });

  scenario("truncateSuffix drops unsynced records before they reach the disk", async (h) => {
    const log = await h.open();
    log.append(records(1, 5, 1));
    await log.sync();
    log.append(records(6, 20, 1));
    await log.truncateSuffix(9);
    await log.sync();
    assert.equal(log.syncedIndex, 8);
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, records(1, 8, 1));
    await reopened.close();
  });

  scenario("truncateSuffix during an in-flight sync: dropped records never reappear", async (h) => {
    const log = await h.open();
    log.append(records(1, 30, 1));
    const inFlight = log.sync();
    const truncated = log.truncateSuffix(12);
    log.append(records(12, 14, 2));
    const after = log.sync();
    await Promise.all([inFlight, truncated, after]);
    assert.equal(log.syncedIndex, 14);
    const expected = [...records(1, 11, 1), ...records(12, 14, 2)];
    await assertContents(log, expected);
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, expected);
    await reopened.close();
  });

  scenario("syncedIndex never claims records that replaced in-flight ones", async (h) => {
    const log = await h.open();
    log.append(records(1, 10, 1));
    const inFlight = log.sync();
    const truncated = log.truncateSuffix(6);
    log.append(records(6, 8, 2));
    await inFlight;
    assert.equal(log.syncedIndex <= 5, true, `syncedIndex ${log.syncedIndex}`);
    await truncated;
    await log.sync();
    assert.equal(log.syncedIndex, 8);
    await log.close();
  });

  scenario("truncateSuffix to the first index empties the log but keeps its start", async (h) => {
    const log = await h.open();
    await log.reset(100);
    log.append(records(100, 130, 3));
    await log.sync();
    await log.truncateSuffix(100);
    assert.equal(log.firstIndex, 100);
    assert.equal(log.lastIndex, 99);
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.firstIndex, 100);
    assert.equal(reopened.lastIndex, 99);
    reopened.append(records(100, 101, 4));
    await reopened.sync();
    await assertContents(reopened, records(100, 101, 4));
    await reopened.close();
  });

  scenario("after truncateSuffix, replacing records may have lower terms", async (h) => {
    const log = await h.open();
    log.append([...records(1, 4, 1), ...records(5, 9, 5)]);
    await log.sync();
    await log.truncateSuffix(5);
    log.append(records(5, 6, 4));
    await log.reset(20);
    log.append(records(20, 21, 9));
    await log.truncateSuffix(20);
    log.append(records(20, 21, 8));
    await log.sync();
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, records(20, 21, 8));
    await reopened.close();
  });

  scenario("truncateSuffix outside the log is a RangeError; at lastIndex+1 a no-op", async (h) => {
    const log = await h.open();
    log.append(records(1, 5, 1));
    await log.sync();
    await assert.rejects(() => log.truncateSuffix(7), RangeError);
    await assert.rejects(() => log.truncateSuffix(0), RangeError);
    await log.truncateSuffix(6);
    assert.equal(log.lastIndex, 5);
    await log.close();
  });

  scenario("compactPrefix releases durable records and never changes lastIndex", async (h) => {
    const log = await h.open();
    log.append(records(1, 60, 1));
    await log.sync();
    log.append(records(61, 70, 1));
    await log.compactPrefix(40);
    assert.equal(log.firstIndex <= 41, true);
    assert.equal(log.lastIndex, 70);
    const kept = log.firstIndex;
    await assertContents(log, records(kept, 70, 1));
    await log.compactPrefix(70);
    assert.equal(log.firstIndex <= 61, true, "unsynced records are never compacted");
    assert.equal(log.lastIndex, 70);
    const keptAfter = log.firstIndex;
    assert.equal(keptAfter >= kept, true, "firstIndex never moves back");
    await log.sync();
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.firstIndex, keptAfter);
    await assertContents(reopened, records(keptAfter, 70, 1));
    await reopened.close();
  });

  scenario("bytesAfter counts the records after an index, whatever compaction kept", async (h) => {
    const log = await h.open();
    const batch = records(1, 60, 1);
    log.append(batch);
    await log.sync();
    const framed = (from: number) =>
      batch.slice(from).reduce((sum, r) => sum + RECORD_HEADER_BYTES + r.data.byteLength, 0);
    assert.equal(log.bytesAfter(0), framed(0));
    assert.equal(log.bytesAfter(0), log.sizeBytes);
    assert.equal(log.bytesAfter(25), framed(25));
    assert.equal(log.bytesAfter(60), 0);
    assert.equal(log.bytesAfter(100), 0);
    await log.compactPrefix(40);
    // Whatever stays on disk before index 41, only what follows 40 counts.
    assert.equal(log.bytesAfter(40), framed(40));
    assert.equal(log.bytesAfter(55), framed(55));
    await log.close();
  });

  scenario("writtenIndex: records handed to the OS, lowered by truncation and reset", async (h) => {
    const log = await h.open();
    log.append(records(1, 10, 1));
    assert.equal(log.writtenIndex, 0, "appending alone writes nothing");
    const first = log.sync();
    log.append(records(11, 20, 1));
    const second = log.sync();
    await first;
    assert.equal(log.writtenIndex >= 10, true, `writtenIndex ${log.writtenIndex}`);
    await second;
    assert.equal(log.writtenIndex, 20);
    assert.equal(log.syncedIndex, 20);
    await log.truncateSuffix(15);
    assert.equal(log.writtenIndex, 14);
    log.append(records(15, 16, 2));
    assert.equal(log.writtenIndex, 14);
    await log.sync();
    assert.equal(log.writtenIndex, 16);
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.writtenIndex, 16);
    await reopened.reset(100);
    assert.equal(reopened.writtenIndex, 99);
    await reopened.close();
  });

  scenario("reset restarts the log empty at the given index, durably", async (h) => {
    const log = await h.open();
    log.append(records(1, 40, 1));
    await log.sync();
    log.append(records(41, 45, 1));
    await log.reset(500);
    assert.equal(log.firstIndex, 500);
    assert.equal(log.lastIndex, 499);
    assert.equal(log.syncedIndex, 499);
    assert.equal(log.termAt(40), undefined);
    await log.sync();
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.firstIndex, 500);
    assert.equal(reopened.lastIndex, 499);
    reopened.append(records(500, 520, 7));
    await reopened.sync();
    await reopened.close();
    const again = await h.open();
    await assertContents(again, records(500, 520, 7));
    await again.reset(10);
    again.append(records(10, 12, 8));
    await again.sync();
    await again.close();
    const last = await h.open();
    await assertContents(last, records(10, 12, 8));
    await last.close();
  });

  scenario("reset while a sync is in flight wins", async (h) => {
    const log = await h.open();
    log.append(records(1, 10, 1));
    const inFlight = log.sync();
    const reset = log.reset(50);
    log.append(records(50, 52, 2));
    await Promise.all([inFlight, reset, log.sync()]);
    await log.close();
    const reopened = await h.open();
    await assertContents(reopened, records(50, 52, 2));
    await reopened.close();
  });

  scenario("concurrent sync callers share fsyncs", async (h) => {
    const log = await h.open();
    const callers = 64;
    const roundsPerCaller = 4;
    let next = 1;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        for (let round = 0; round < roundsPerCaller; round++) {
          log.append([record(next++, 1)]);
          await log.sync();
        }
      }),
    );
    const proposals = callers * roundsPerCaller;
    assert.equal(log.syncedIndex, proposals);
    assert.equal(
      log.stats.syncCount <= proposals / 8,
      true,
      `${log.stats.syncCount} syncs for ${proposals} proposals`,
    );
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.lastIndex, proposals);
    await reopened.close();
  });

  scenario("sync with nothing pending waits for queued work and resolves", async (h) => {
    const log = await h.open();
    await log.sync();
    log.append(records(1, 3, 1));
    const first = log.sync();
    const second = log.sync();
    await Promise.all([first, second]);
    assert.equal(log.syncedIndex, 3);
    await log.close();
  });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
