/**
 * @module
 * Test helper: a slow disk for one process, by the kernel's block I/O throttle (cgroup v1
 * `blkio.throttle.write_iops_device`). The process, all its threads, goes into a cgroup of its
 * own whose writes to the disk under a directory are limited to a few operations a second:
 * buffered writes still land in the page cache at once, but each `fdatasync` waits its turn.
 * Needs root and the v1 blkio hierarchy (`available()` says whether this machine has them).
 */

const blkioRoot = "/sys/fs/cgroup/blkio";
const throttleFile = "blkio.throttle.write_iops_device";

/** Whether this machine can throttle a process's disk writes (root, cgroup v1 blkio). */
export function slowDiskAvailable(): boolean {
  try {
    Deno.statSync(`${blkioRoot}/${throttleFile}`);
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** `major:minor` of the whole disk that holds `dir` (throttles apply to disks, not partitions). */
function diskOf(dir: string): string {
  const dev = Deno.statSync(dir).dev;
  const major = Number((BigInt(dev) >> 8n) & 0xfffn);
  const minor = Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & 0xfff00n));
  const sysDir = `/sys/dev/block/${major}:${minor}`;
  try {
    Deno.statSync(`${sysDir}/partition`);
    return Deno.readTextFileSync(`${Deno.realPathSync(sysDir)}/../dev`).trim();
  } catch {
    return `${major}:${minor}`;
  }
}

export class SlowDisk {
  private readonly members = new Set<number>();

  private constructor(private readonly cgroupDir: string) {}

  /** A throttle group allowing `writeIops` disk writes a second on the disk that holds `dir`. */
  static create(dir: string, writeIops: number): SlowDisk {
    const cgroupDir = `${blkioRoot}/redisraft-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    Deno.mkdirSync(cgroupDir);
    Deno.writeTextFileSync(`${cgroupDir}/${throttleFile}`, `${diskOf(dir)} ${writeIops}`);
    return new SlowDisk(cgroupDir);
  }

  /** Moves the process `pid` (every thread, and threads it starts later) into the group. */
  slow(pid: number): void {
    Deno.writeTextFileSync(`${this.cgroupDir}/cgroup.procs`, String(pid));
    this.members.add(pid);
  }

  /**
   * Moves `pid` back to the root group, with the processes it started while slowed (a node's
   * redis child, its BGSAVE fork): its disk is as fast as before.
   */
  restore(pid: number): void {
    if (!this.members.delete(pid)) return;
    for (const member of this.processes()) {
      if (member === pid || descendsFrom(member, pid)) moveToRoot(member);
    }
  }

  /** Restores every process in the group and removes it. */
  remove(): void {
    this.members.clear();
    for (const member of this.processes()) moveToRoot(member);
    Deno.removeSync(this.cgroupDir);
  }

  private processes(): number[] {
    return Deno.readTextFileSync(`${this.cgroupDir}/cgroup.procs`).split("\n").filter(Boolean)
      .map(Number);
  }
}

function moveToRoot(pid: number): void {
  try {
    Deno.writeTextFileSync(`${blkioRoot}/cgroup.procs`, String(pid));
  } catch {
    // The process has exited already.
  }
}

/** Whether `ancestor` is among `pid`'s parents (bounded walk up the process tree). */
function descendsFrom(pid: number, ancestor: number): boolean {
  let current = pid;
  for (let depth = 0; depth < 32 && current > 1; depth++) {
    try {
      // The fields after the command's closing parenthesis: state, then the parent's pid.
      const stat = Deno.readTextFileSync(`/proc/${current}/stat`);
      current = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
    if (current === ancestor) return true;
  }
  return false;
}
