/**
 * @module
 * One real redisraft node of a chaos run: a `deno run src/main.ts` process in its own process
 * group, inside its network slot (its redis child runs in a group of its own: pause signals it
 * through its pidfile). Only processes
 * started here are ever signalled: the node by pid, its group by -pid, and a redis child left by
 * a kill -9 only if its pidfile is in this node's directory and its command line names it.
 */
import { callOnce } from "./resp_connection.ts";
import { powerLossEnv } from "../helpers/power_loss.ts";
import { childPidOf } from "../helpers/node_process.ts";

const mainPath = new URL("../../src/main.ts", import.meta.url).pathname;

export interface NodeSpec {
  slot: number;
  addr: string;
  dir: string;
  logPath: string;
  args: string[];
  /** Wraps the node's argv to run it in its network slot. */
  wrap: (argv: string[]) => string[];
  /**
   * With a power-cut nemesis: the library preloaded into the node (tests/helpers/power_loss.c),
   * the journal of file and directory changes it keeps, and how much slower it makes each sync
   * (a slow disk keeps changes unsynced long enough for a cut to find them).
   */
  powerLoss?: { library: string; journal: string; syncDelayUs: number };
  /**
   * A drifting clock: the library preloaded into the node (tests/helpers/clock_rate.c) and the
   * file holding the rate its monotonic clock runs at (written by the test; re-read as it runs).
   */
  clock?: { library: string; rateFile: string };
}

/** The environment that preloads a spec's fault libraries, if it has any. */
function preloadEnv(spec: NodeSpec): Record<string, string> | undefined {
  const { powerLoss, clock } = spec;
  if (!powerLoss && !clock) return undefined;
  const libraries = [powerLoss?.library, clock?.library].filter((library) => library);
  return {
    LD_PRELOAD: libraries.join(":"),
    ...(powerLoss && powerLossEnv(powerLoss.journal, spec.dir, powerLoss.syncDelayUs)),
    ...(clock && { RAFT_CLOCK_RATE_FILE: clock.rateFile }),
  };
}

export type NodeState = "running" | "paused" | "killed" | "crashed" | "stopped";

export class ChaosNode {
  state: NodeState = "stopped";
  /** The redis child was stopped by `stopChild` and not continued yet. */
  private childStopped = false;
  private process: Deno.ChildProcess | null = null;
  private exited: Promise<Deno.CommandStatus> | null = null;
  private expectingExit = false;
  /** Exits nobody asked for (the node died on its own): a finding, not a harness action. */
  readonly crashes: string[] = [];

  constructor(readonly spec: NodeSpec) {}

  get addr(): string {
    return this.spec.addr;
  }

  get name(): string {
    return `n${this.spec.slot}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Start (or restart after a kill) and wait until the port answers. */
  async spawn(readyTimeoutMs = 30_000): Promise<void> {
    if (this.process) throw new Error(`${this.name} is already running`);
    await Deno.mkdir(this.spec.dir, { recursive: true });
    const argv = this.spec.wrap([
      Deno.execPath(),
      "run",
      "-A",
      mainPath,
      "--addr",
      this.spec.addr,
      "--dir",
      this.spec.dir,
      ...this.spec.args,
    ]);
    const log = await Deno.open(this.spec.logPath, { append: true, create: true, write: true });
    await log.write(new TextEncoder().encode(`--- chaos: start ${argv.join(" ")}\n`));
    const process = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: preloadEnv(this.spec),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    this.process = process;
    this.state = "running";
    const errLog = await Deno.open(this.spec.logPath, { append: true, write: true });
    process.stdout.pipeTo(log.writable).catch(() => {});
    process.stderr.pipeTo(errLog.writable).catch(() => {});
    this.exited = process.status;
    this.expectingExit = false;
    this.exited.then((status) => {
      if (this.process !== process || this.expectingExit) return;
      this.crashes.push(
        `${new Date().toISOString()} ${this.name} exited on its own (code ${status.code})`,
      );
      this.process = null;
      this.state = "crashed";
    });
    let exitedEarly = false;
    this.exited.then(() => exitedEarly = true);
    const deadline = performance.now() + readyTimeoutMs;
    while (performance.now() < deadline && !exitedEarly) {
      try {
        await callOnce(this.spec.addr, ["PING"], 1000);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Killed or stopped on purpose while it started (overlapping faults): whoever did it owns
    // the restart.
    if (this.expectingExit) return;
    const tail = (await Deno.readTextFile(this.spec.logPath).catch(() => "")).split("\n").slice(-15)
      .join("\n");
    await this.stop();
    throw new Error(
      `${this.name} (${this.addr}) did not start${
        exitedEarly ? " (exited)" : ""
      }; log tail:\n${tail}`,
    );
  }

  /** kill -9 the node process only; its redis child stays, as after a real crash. */
  async kill(): Promise<void> {
    const process = this.process;
    if (!process) return;
    if (this.state === "paused") {
      signalGroup(process.pid, "SIGCONT");
      this.signalChild("SIGCONT");
    }
    this.expectingExit = true;
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.exited;
    this.process = null;
    this.state = "killed";
  }

  pause(): void {
    if (!this.process || this.state !== "running") return;
    signalGroup(this.process.pid, "SIGSTOP");
    this.signalChild("SIGSTOP");
    this.state = "paused";
  }

  resume(): void {
    if (!this.process || this.state !== "paused") return;
    this.signalChild("SIGCONT");
    signalGroup(this.process.pid, "SIGCONT");
    this.state = "running";
  }

  /** SIGSTOP the redis child alone (the node runs on); false if there is none running. */
  stopChild(): boolean {
    if (!this.process || this.state !== "running" || this.childStopped) return false;
    this.childStopped = this.signalChild("SIGSTOP");
    return this.childStopped;
  }

  /** SIGCONT the child `stopChild` stopped (a restarted node's new child ignores it). */
  continueChild(): void {
    if (!this.childStopped) return;
    this.childStopped = false;
    this.signalChild("SIGCONT");
  }

  /** The node's redis child (its own process group), found through its pidfile; true if sent. */
  private signalChild(signal: Deno.Signal): boolean {
    const pid = childPidOf(this.spec.dir);
    if (pid === undefined) return false;
    try {
      Deno.kill(pid, signal);
      return true;
    } catch {
      return false; // gone meanwhile
    }
  }

  /** The node is expected to leave by itself now (it was removed from the cluster). */
  expectExit(): void {
    this.expectingExit = true;
  }

  /** True once the process has exited on its own (e.g. a removed node shutting down). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.exited) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs)),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** Graceful stop, then the whole group, then any stale redis child of this directory. */
  async stop(): Promise<void> {
    const process = this.process;
    if (process) {
      this.expectingExit = true;
      signalGroup(process.pid, "SIGCONT");
      this.signalChild("SIGCONT");
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      if (!(await this.waitExit(5000))) signalGroup(process.pid, "SIGKILL");
      await this.exited;
      signalGroup(process.pid, "SIGKILL");
      this.process = null;
    }
    this.state = "stopped";
    await this.killStaleChild();
  }

  async killStaleChild(): Promise<void> {
    try {
      const pid = Number((await Deno.readTextFile(`${this.spec.dir}/redis/redis.pid`)).trim());
      if (!(pid > 1)) return;
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
      if (!cmdline.includes(this.spec.dir)) return;
      Deno.kill(pid, "SIGCONT");
      Deno.kill(pid, "SIGKILL");
    } catch { /* no stale child */ }
  }
}

function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch { /* group gone */ }
}
