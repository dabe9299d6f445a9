/**
 * @module
 * SnapshotManager with a fake host: a snapshot taken while a received one is installed (chaos
 * finding C5: the install restarted the child under the take's BGSAVE, the node died with
 * "FATAL: snapshot failed: INFO persistence: ERR redis child connection lost"; a take that
 * survived would compact the core at an index older than the installed snapshot), and a
 * snapshot taken while the child is ahead of the core (C7: committed entries are applied while
 * the Ready that carried them still syncs, so the core's applied index trails; compacting there
 * killed the node with "raft invariant violated: snapshot index N beyond applied").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type InstallSnapshotMessage,
  MessageType,
  type SnapshotMeta,
} from "../../../src/raft/mod.ts";
import { type SnapshotHost, SnapshotManager } from "../../../src/node/snapshot_manager.ts";
import { encodeTrailer } from "../../../src/node/snapshot_trailer.ts";
import { Logger } from "../../../src/node/logger.ts";

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface FakeHost extends SnapshotHost {
  events: string[];
  bgsaveResult: ReturnType<typeof deferred<string>>;
}

function fakeHost(
  dir: string,
  applied: () => number,
  coreApplied: () => number = applied,
): FakeHost {
  const events: string[] = [];
  const host: FakeHost = {
    events,
    bgsaveResult: deferred<string>(),
    log: new Logger("warning"),
    appliedIndex: applied,
    applyIdle: () => Promise.resolve(),
    coreAppliedIndex: coreApplied,
    bgsave: () => {
      events.push(`bgsave@${applied()}`);
      return host.bgsaveResult.promise;
    },
    captureState: () => ({ extra: {}, binary: [] }),
    compact: (index, sizeBytes) => {
      events.push(`compact@${index}`);
      return { index, term: 1, membership: { members: [], usedNodeIds: [] }, sizeBytes };
    },
    compactLog: (index) => {
      events.push(`compactLog@${index}`);
      return Promise.resolve();
    },
    crashPoint: () => {},
    install: (_path, meta) => {
      events.push(`install@${meta.index}`);
      return Promise.resolve();
    },
  };
  void dir;
  return host;
}

/**
 * Runs `test` on an opened manager over a temporary directory; the fake child's BGSAVE yields
 * `child.rdb` at once.
 */
async function withManager(
  applied: () => number,
  coreApplied: () => number,
  test: (manager: SnapshotManager, host: FakeHost) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "redisraft-snapmgr-" });
  try {
    const host = fakeHost(dir, applied, coreApplied);
    const manager = new SnapshotManager(dir, 1 << 20, host);
    await manager.open(true);
    const rdb = join(dir, "child.rdb");
    await Deno.writeFile(rdb, new TextEncoder().encode("REDIS0011-fake"));
    host.bgsaveResult.resolve(rdb);
    await test(manager, host);
    await manager.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Feed a whole snapshot at `index` (one chunk: a fake RDB and an empty trailer) through
 * receiveChunk; resolves with its metadata once the core got it (`coreTakesIt`: whether the
 * core still expected the chunk when stepped).
 */
async function receiveWhole(
  manager: SnapshotManager,
  index: number,
  coreTakesIt = true,
): Promise<SnapshotMeta> {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("REDIS0011-fake"),
    ...encodeTrailer({}),
  ]);
  const meta: SnapshotMeta = {
    index,
    term: 2,
    membership: { members: [], usedNodeIds: [] },
    sizeBytes: bytes.length,
  };
  const message: InstallSnapshotMessage = {
    type: MessageType.InstallSnapshot,
    from: 1,
    to: 2,
    term: 2,
    meta,
    offsetBytes: 0,
    lengthBytes: bytes.length,
    last: true,
  };
  const stepped = deferred<void>();
  manager.receiveChunk(message, bytes, () => true, () => {
    stepped.resolve();
    return coreTakesIt;
  });
  await stepped.promise;
  return meta;
}

for (const bgsaveFails of [false, true]) {
  Deno.test(
    `snapshot manager: an install waits for a take in flight and the take is abandoned (BGSAVE ${
      bgsaveFails ? "fails as the child goes away" : "completes"
    })`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "redisraft-snapmgr-" });
      try {
        let applied = 10;
        const host = fakeHost(dir, () => applied);
        const manager = new SnapshotManager(dir, 1 << 20, host);
        await manager.open(true);
        const taking = manager.take();
        await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(host.events, ["bgsave@10"]);

        const meta = await receiveWhole(manager, 50);
        const installing = manager.installReceived(meta);
        assert.equal(manager.inProgress, true);
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(host.events, ["bgsave@10"], "install must wait for the BGSAVE in flight");

        const rdb = join(dir, "child.rdb");
        await Deno.writeFile(rdb, new TextEncoder().encode("REDIS0011-old"));
        if (bgsaveFails) {
          host.bgsaveResult.reject(new Error("INFO persistence: ERR redis child connection lost"));
        } else host.bgsaveResult.resolve(rdb);
        await taking; // must not reject (a rejection kills the node)
        await installing;
        applied = 50;
        assert.deepEqual(
          host.events,
          ["bgsave@10", "install@50"],
          "no compaction at the stale index",
        );
        assert.equal(manager.inProgress, false);
        await manager.close();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

Deno.test("snapshot manager: a take waits until the core's applied index caught up with the child", async () => {
  let coreApplied = 7;
  await withManager(() => 10, () => coreApplied, async (manager, host) => {
    const taking = manager.take();
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(host.events, [], "no BGSAVE while the core trails the child");
    coreApplied = 10; // the Ready's sync finished and the core advanced
    await taking;
    assert.deepEqual(host.events, ["bgsave@10", "compact@10", "compactLog@10"]);
  });
});

Deno.test("snapshot manager: a take gives up (no BGSAVE, no compact) if the core never catches up", async () => {
  await withManager(() => 10, () => 7, async (manager, host) => {
    await manager.take();
    assert.deepEqual(host.events, []);
    assert.equal(manager.inProgress, false);
  });
});

Deno.test("snapshot manager: no take starts between a received snapshot's last chunk and its install (C11)", async () => {
  let applied = 10;
  await withManager(() => applied, () => applied, async (manager, host) => {
    // The core has the snapshot (its log now starts at 50); the node has not installed it yet.
    const meta = await receiveWhole(manager, 50);
    await manager.take();
    assert.deepEqual(host.events, [], "a take at 10 would compact the core below its snapshot");

    await manager.installReceived(meta);
    applied = 60;
    await manager.take();
    assert.deepEqual(host.events, ["install@50", "bgsave@60", "compact@60", "compactLog@60"]);
  });
});

Deno.test("snapshot manager: a last chunk the core no longer wanted when stepped leaves no install to wait for", async () => {
  let applied = 10;
  await withManager(() => applied, () => applied, async (manager, host) => {
    // Written whole, but the core caught up while it was written: nothing will be installed.
    await receiveWhole(manager, 50, false);
    // The next snapshot's chunk is written and stepped, not held back for an install.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      receiveWhole(manager, 60),
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 2000)),
    ]);
    clearTimeout(timer);
    assert.equal(next?.index, 60, "the chunk after it reached the core");
    await manager.installReceived(next!);
    applied = 70;
    await manager.take();
    assert.deepEqual(host.events, ["install@60", "bgsave@70", "compact@70", "compactLog@70"]);
  });
});
