/**
 * @module
 * A node whose disk fills up (its data directory on a small tmpfs, mounted by the test) stops
 * with a fatal error instead of acknowledging writes it could not log. A leader: the other two
 * elect a leader that still has every acknowledged write. A follower: the other two go on
 * acknowledging every write. Once the disk has room again the node restarts from its log and
 * converges with the others. The disk fills either while the log writes zeros ahead of itself
 * (preallocation) or, without preallocation, in the middle of a record, which the restart must
 * cut off as a torn tail. Needs root (mount).
 */
import { runStorageFault, type StorageFault } from "../helpers/storage_fault.ts";

const smallDiskBytes = 6 * 1024 * 1024;
const roomyDiskBytes = 64 * 1024 * 1024;
const valueBytes = 4096;

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function runOutOfDisk(
  whose: StorageFault["whose"],
  nodeArgs: string[],
  tornRecord: boolean,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redisraft-diskfull-" });
  const mountPoint = `${root}/small`;
  await Deno.mkdir(mountPoint);
  await run("mount", ["-t", "tmpfs", "-o", `size=${smallDiskBytes}`, "tmpfs", mountPoint]);
  try {
    await runStorageFault({
      whose,
      nodeArgs,
      // The full node's output is logged off the small disk, so that all of it is kept.
      faultyNode: { dir: `${mountPoint}/node`, logPath: `${root}/node.log` },
      valueBytes,
      writesMaxCount: 4 * smallDiskBytes / valueBytes,
      injectAfterCount: 0,
      inject: () => Promise.resolve(), // the writes fill the disk
      heal: () => run("mount", ["-o", `remount,size=${roomyDiskBytes}`, mountPoint]),
      fatalLine: /FATAL.*No space left on device/,
      restartLine: tornRecord ? /log recovery cut \d+ bytes at offset/ : undefined,
    });
  } finally {
    await run("umount", [mountPoint]).catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

const noZerosAhead = ["--log-preallocate-bytes", "0"];

Deno.test({
  name: "a leader out of disk space (writing zeros ahead) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk("leader", [], false),
});

Deno.test({
  name: "a leader out of disk space (in the middle of a record) stops, loses no write, recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk("leader", noZerosAhead, true),
});

Deno.test({
  name: "a follower out of disk space (in the middle of a record) stops, writes go on, it recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runOutOfDisk("follower", noZerosAhead, true),
});
