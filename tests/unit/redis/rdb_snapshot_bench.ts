/**
 * Measures the snapshot path on a real child: BGSAVE of N keys at an applied index, publish
 * into a SnapshotStore (move + CRC + fsync), reopen (verify), and install into a fresh
 * child (link + start + load). Also how long writes sent during the BGSAVE wait.
 *
 * Run: deno run -A tests/unit/redis/rdb_snapshot_bench.ts [keys=1000000]
 *
 * @module
 */

import { join } from "node:path";
import { startRdbSnapshot } from "../../../src/redis/rdb_snapshot.ts";
import { installRdb } from "../../../src/redis/rdb_install.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import { SnapshotStore } from "../../../src/storage/snapshot_store.ts";
import { command, connect, withChildren } from "./rdb_test_helpers.ts";

const keys = Number(Deno.args[0] ?? 1_000_000);

await withChildren(async (make, root) => {
  const source = make("source");
  await source.child.start();
  const apply = await connect(source.child);
  let t = performance.now();
  await command(apply, "DEBUG", "POPULATE", String(keys), "key", "16");
  console.log(`populate ${keys} keys: ${(performance.now() - t).toFixed(0)} ms`);

  t = performance.now();
  const snapshot = startRdbSnapshot(apply, {
    socketPath: source.child.socketPath,
    rdbPath: source.rdbPath,
    bgsaveTimeoutMs: 120_000,
    pollIntervalMs: 5,
  });
  const writeStartMs = performance.now();
  await apply.request(encodeCommand(["SET", "during", "bgsave"]));
  const writeMs = performance.now() - writeStartMs;
  const result = await snapshot;
  const bgsaveMs = performance.now() - t;
  console.log(
    `BGSAVE: ${bgsaveMs.toFixed(0)} ms, ${(result.sizeBytes / 1e6).toFixed(1)} MB; ` +
      `a write sent right after BGSAVE replied in ${writeMs.toFixed(1)} ms`,
  );
  apply.close();

  const nodeDir = join(root, "node");
  const store = new SnapshotStore({ nodeDir });
  await store.open();
  t = performance.now();
  const published = await store.publish(result.rdbPath, {
    index: 1,
    term: 1,
    sizeBytes: result.sizeBytes,
    membership: { members: [{ id: 1, addr: "a:1", voter: true }], usedNodeIds: [1] },
  });
  console.log(`publish (move + crc32c + fsync): ${(performance.now() - t).toFixed(0)} ms`);
  await store.close();
  t = performance.now();
  const reopened = new SnapshotStore({ nodeDir });
  await reopened.open();
  console.log(`reopen (verify size + crc32c): ${(performance.now() - t).toFixed(0)} ms`);
  await reopened.close();

  const target = make("target");
  const installed = await installRdb({
    child: target.child,
    childRdbPath: target.rdbPath,
    snapshotRdbPath: published.rdbPath,
    loadTimeoutMs: 120_000,
  });
  console.log(`install (start + load): ${installed.durationMs} ms, ${installed.keys} keys`);
});
