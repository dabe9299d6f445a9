/**
 * @module
 * A node whose fsyncs fail (EIO, as from a failing device: a library preloaded into the node
 * makes fsync and fdatasync fail while a trigger file exists) stops with a fatal error instead
 * of acknowledging writes it could not make durable, and never retries the sync (after a failed
 * fsync the kernel may have dropped the dirty pages: a retry could succeed with the data lost).
 * A leader: the other two elect a leader that has every acknowledged write. A follower: the other
 * two go on acknowledging every write. With the device healthy again the node restarts from its
 * log and converges with the others.
 */
import { buildPreloadLibrary } from "../helpers/preload_library.ts";
import { runStorageFault, type StorageFault } from "../helpers/storage_fault.ts";

async function runFsyncError(whose: StorageFault["whose"], nodeArgs: string[]): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redisraft-fsyncerror-" });
  try {
    const trigger = `${root}/failing`;
    await runStorageFault({
      whose,
      nodeArgs,
      faultyNode: {
        env: {
          LD_PRELOAD: await buildPreloadLibrary("fsync_fault", root),
          RAFT_FSYNC_FAULT_FILE: trigger,
        },
      },
      valueBytes: 64,
      writesMaxCount: 5_000,
      injectAfterCount: 200,
      inject: () => Deno.writeTextFile(trigger, ""),
      heal: () => Deno.remove(trigger),
      fatalLine: /FATAL.*Input\/output error/,
    });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "a leader whose fsync fails stops, loses no acknowledged write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runFsyncError("leader", []),
});

Deno.test({
  name: "a follower whose fsync fails stops, writes go on, it recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runFsyncError("follower", []),
});
