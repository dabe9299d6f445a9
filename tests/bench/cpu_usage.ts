/**
 * @module
 * CPU time of processes from `/proc/<pid>/stat` (user + system, all threads), and of this
 * process's reaped children (the redis-benchmark runs), for the benchmarks' CPU per request.
 * Linux counts in USER_HZ ticks (10 ms), so a run should take a second or more.
 */

const ticksPerSecond = 100; // USER_HZ on Linux

function statFields(pid: number | "self"): string[] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU ticks (utime + stime) of `pid`, or 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    const fields = statFields(pid);
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU ticks of this process's finished children (redis-benchmark, once reaped). */
function childrenCpuTicks(): number {
  const fields = statFields("self");
  return Number(fields[13]) + Number(fields[14]); // cutime + cstime
}

/** Microseconds of CPU per request for `ticks` spent on `requests` requests. */
function perRequestUs(ticks: number, requests: number): number {
  return ticks * 1e6 / ticksPerSecond / requests;
}

/** CPU ticks of named processes and of the finished benchmark client, since `start()`. */
export class CpuMeter {
  private readonly before: number[];
  private readonly clientBefore: number;

  constructor(private readonly pids: number[]) {
    this.before = pids.map(cpuTicks);
    this.clientBefore = childrenCpuTicks();
  }

  /** Per request, µs: each pid's (in the order given), then the client's. */
  perRequestUs(requests: number): { pidsUs: number[]; clientUs: number } {
    return {
      pidsUs: this.pids.map((pid, i) => perRequestUs(cpuTicks(pid) - this.before[i], requests)),
      clientUs: perRequestUs(childrenCpuTicks() - this.clientBefore, requests),
    };
  }
}
