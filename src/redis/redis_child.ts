/**
 * @module
 * The managed redis-server child: started on a unix socket inside the node's directory with
 * persistence, replication and TCP off, so it is reachable only through the node. A stale child
 * left by a crashed node (found through its pidfile) is stopped before a new one starts.
 * With the clock library (native/raftclock.c) the child runs each entry at the entry's time.
 */
import type { Logger } from "../node/logger.ts";

export interface RedisChildOptions {
  redisServer: string;
  /** Directory owned by the child: socket, pidfile, log, RDB. */
  dir: string;
  startTimeoutMs: number;
  /** Path of the clock library; undefined or missing file: the child keeps the real clock. */
  clockLib?: string;
  /**
   * The child's maxclients: its connections are the node's own, plus one per client subscribed
   * through the node (pub/sub), so it must take as many as the node does. Default Redis's.
   */
  clientsMaxCount?: number;
}

export class RedisChild {
  readonly socketPath: string;
  readonly pidPath: string;
  private process: Deno.ChildProcess | null = null;
  private stopping = false;
  /** The child runs with the clock library (commands may carry RAFT.AT). */
  readonly hasClock: boolean;
  /** Resolves with the exit code when the child process ends. */
  exited: Promise<number> = Promise.resolve(0);

  constructor(private readonly options: RedisChildOptions, private readonly log: Logger) {
    this.socketPath = `${options.dir}/redis.sock`;
    this.pidPath = `${options.dir}/redis.pid`;
    this.hasClock = options.clockLib !== undefined && isFile(options.clockLib);
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The RDB the child loads at start and writes on BGSAVE. */
  get rdbPath(): string {
    return `${this.options.dir}/${rdbFileName}`;
  }

  /**
   * Start the child and wait until its socket accepts connections. It starts empty, or with
   * the dataset of the RDB at `loadRdbPath` (a snapshot); never from a leftover RDB.
   */
  async start(
    loadRdbPath?: string,
    settings: readonly string[] = [],
    /** With the clock library: the clock is held here until the first command (RDB load). */
    clockStartMs?: number,
  ): Promise<void> {
    await Deno.mkdir(this.options.dir, { recursive: true });
    await stopStaleChild(this.pidPath, this.socketPath, this.log);
    await Deno.remove(this.socketPath).catch(() => {});
    await Deno.remove(this.rdbPath).catch(() => {});
    if (loadRdbPath) await Deno.copyFile(loadRdbPath, this.rdbPath);
    const args = [
      "--port",
      "0",
      "--unixsocket",
      this.socketPath,
      "--unixsocketperm",
      "700",
      "--pidfile",
      this.pidPath,
      "--dir",
      this.options.dir,
      "--dbfilename",
      rdbFileName,
      "--save",
      "",
      "--appendonly",
      "no",
      "--maxmemory-policy",
      "noeviction",
      "--databases",
      "1",
      "--daemonize",
      "no",
      "--logfile",
      "redis.log",
      "--enable-debug-command",
      "local",
      "--enable-module-command",
      "no",
      "--protected-mode",
      "no",
      "--maxclients",
      String(this.options.clientsMaxCount ?? 10_000),
      ...settings,
    ]; // deno-fmt-ignore
    const env: Record<string, string> = {};
    if (this.hasClock) {
      const clockLib = this.options.clockLib!;
      args.push("--loadmodule", clockLib);
      const preload = Deno.env.get("LD_PRELOAD");
      env.LD_PRELOAD = preload ? `${clockLib}:${preload}` : clockLib;
      if (clockStartMs !== undefined) env.RAFT_CLOCK_START_MS = String(Math.trunc(clockStartMs));
    }
    this.stopping = false;
    this.process = new Deno.Command(this.options.redisServer, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      // Its own process group: a Ctrl-C at the terminal reaches the node, which stops the child
      // in order, instead of killing the child under a running node.
      detached: true,
    }).spawn();
    this.exited = this.process.status.then((status) => status.code);
    const deadline = performance.now() + this.options.startTimeoutMs;
    for (let attempt = 0; performance.now() < deadline; attempt++) {
      try {
        const conn = await Deno.connect({ transport: "unix", path: this.socketPath });
        conn.close();
        this.log.verbose(`redis child pid ${this.process.pid} ready on ${this.socketPath}`);
        return;
      } catch {
        const early = await Promise.race([this.exited, sleep(Math.min(5 + attempt * 5, 50))]);
        if (typeof early === "number") {
          throw new Error(
            `redis-server exited with code ${early} at start; see ${this.options.dir}/redis.log`,
          );
        }
      }
    }
    await this.stop();
    throw new Error(`redis-server did not open ${this.socketPath} within the start timeout`);
  }

  /** True while the child is being stopped on purpose (its exit is expected). */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Stop the child: SIGTERM, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const process = this.process;
    if (!process) return;
    this.stopping = true;
    try {
      process.kill("SIGTERM");
    } catch { /* already gone */ }
    const done = await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      try {
        process.kill("SIGKILL");
      } catch { /* already gone */ }
      await this.exited;
    }
    this.process = null;
    await Deno.remove(this.pidPath).catch(() => {});
  }
}

const rdbFileName = "dump.rdb";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Stop a redis-server left running by an earlier run of this node (only if it is ours). */
async function stopStaleChild(pidPath: string, socketPath: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(pidPath)).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try {
    cmdline = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
  } catch {
    return; // no such process
  }
  if (!cmdline.includes("redis-server") || !cmdline.includes(socketPath)) return;
  log.warning(`stopping stale redis child pid ${pid} left by an earlier run`);
  Deno.kill(pid, "SIGKILL");
  for (let i = 0; i < 200; i++) {
    if (await hasExited(pid)) return;
    await sleep(10);
  }
  throw new Error(`stale redis child pid ${pid} did not exit`);
}

/**
 * True when process `pid` is gone or a zombie: a stale child's parent (the crashed node) is
 * gone, so it waits for init to reap it, which can take seconds, or never happen where init
 * does not reap (a container's first process). A zombie holds no socket and no file.
 */
async function hasExited(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // "pid (comm) state ...": the name may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
