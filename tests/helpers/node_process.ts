/**
 * @module
 * Test helper: runs a real redisraft node as a separate process (in its own process group, so
 * the node and its redis child can be stopped together), on 127.0.0.1 and a free port, with a
 * temporary data directory. Only processes started here are ever signalled.
 */
import { RespClient } from "./resp_client.ts";

const mainPath = new URL("../../src/main.ts", import.meta.url).pathname;
/** A directory to copy each node's log into when the node is destroyed (to study a failure). */
const KEEP_LOGS_ENV = "RAFT_TEST_KEEP_LOGS_DIR";

export interface NodeOptions {
  port?: number;
  dir?: string;
  args?: string[];
  /** Extra environment for the node process (and so its redis child). */
  env?: Record<string, string>;
  /** Where the node's output goes; default `<dir>.log`. */
  logPath?: string;
  /** The node's open-files limit (`ulimit -n`, soft and hard); default the test's own. */
  openFilesMax?: number;
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Process groups of nodes still running (and their data dirs), killed when this test process
 * exits for any reason, with the redis children they started (in groups of their own). */
const liveGroups = new Map<number, string>();
globalThis.addEventListener("unload", () => {
  for (const [pid, dir] of liveGroups) {
    killGroup(pid);
    killChildOf(dir);
  }
});

export class NodeProcess {
  process: Deno.ChildProcess | null = null;
  readonly port: number;
  readonly dir: string;
  readonly logPath: string;

  private constructor(public options: NodeOptions, dir: string) {
    this.port = options.port ?? freePort();
    this.dir = dir;
    this.logPath = options.logPath ?? `${dir}.log`;
  }

  static async start(options: NodeOptions = {}): Promise<NodeProcess> {
    const dir = options.dir ?? await Deno.makeTempDir({ prefix: "redisraft-test-" });
    const node = new NodeProcess(options, dir);
    await node.spawn();
    return node;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)start the node process and wait until it accepts connections. */
  async spawn(): Promise<void> {
    const process = this.launch();
    let exited: number | null = null;
    process.status.then((status) => exited = status.code);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && exited === null) {
      try {
        const client = await RespClient.connect(this.port);
        client.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const why = exited === null ? "did not start" : `exited with code ${exited} before it served`;
    throw new Error(`node on ${this.addr} ${why}; log:\n${await this.log()}`);
  }

  /**
   * Start the node process and wait for it to exit by itself (a test crash point), with no
   * wait for it to serve: it may serve for a moment or not at all first. Returns the exit code.
   */
  async runUntilExit(timeoutMs = 30_000): Promise<number> {
    const process = this.launch();
    const status = await within(process.status, timeoutMs);
    if (status === "timed out") {
      throw new Error(`node on ${this.addr} did not exit; log:\n${await this.log()}`);
    }
    this.process = null;
    liveGroups.delete(process.pid);
    return status.code;
  }

  /**
   * Start the node process, its output appended to the log file by the kernel: a shell opens
   * the file and execs the node in its place (same pid and process group). Piping the output
   * through this process lost lines: a restarted node's arrived late or never.
   */
  private launch(): Deno.ChildProcess {
    const node = [Deno.execPath(), "run", "-A", mainPath, "--addr", this.addr, "--dir", this.dir];
    this.process = new Deno.Command("sh", {
      args: [
        "-c",
        'log="$1"; files="$2"; shift 2; [ -z "$files" ] || ulimit -n "$files" || exit 1; ' +
        'exec "$@" >>"$log" 2>&1',
        "sh",
        this.logPath,
        String(this.options.openFilesMax ?? ""),
        ...node,
        ...(this.options.args ?? []),
      ],
      env: this.options.env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    liveGroups.set(this.process.pid, this.dir);
    return this.process;
  }

  async log(): Promise<string> {
    return await Deno.readTextFile(this.logPath).catch(() => "");
  }

  client(): Promise<RespClient> {
    return RespClient.connect(this.port);
  }

  /** kill -9 the node process only (its redis child is left running, as after a real crash). */
  async crash(): Promise<void> {
    const process = this.process;
    if (!process) return;
    this.process = null;
    try {
      process.kill("SIGKILL");
    } catch { /* gone */ }
    await process.status;
    liveGroups.delete(process.pid);
  }

  /** Graceful stop (SIGTERM), then the whole process group is killed to be sure. */
  async stop(): Promise<void> {
    const process = this.process;
    if (process) {
      this.process = null;
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => killGroup(process.pid), 5000);
      await process.status;
      clearTimeout(timer);
      killGroup(process.pid);
      liveGroups.delete(process.pid);
    }
    await this.killStaleChild();
  }

  /** Stop and remove the data directory (a node that died on its own has its log printed). */
  async destroy(): Promise<void> {
    await this.stop();
    const log = await this.log();
    const fatal = log.split("\n").filter((line) => /FATAL|Uncaught|panicked|error:/.test(line));
    if (fatal.length > 0) {
      console.error(`node ${this.addr} log:\n${log.split("\n").slice(-40).join("\n")}`);
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    const keepDir = Deno.env.get(KEEP_LOGS_ENV);
    if (keepDir) {
      const name = `${this.logPath.split("/").pop()}-${this.port}`;
      await Deno.copyFile(this.logPath, `${keepDir}/${name}`).catch(() => {});
    }
    await Deno.remove(this.logPath).catch(() => {});
  }

  /** The pid of this node's redis child, from its pidfile (checked against its command line). */
  childPid(): number {
    const pid = childPidOf(this.dir);
    if (pid === undefined) throw new Error(`${this.addr} has no redis child running`);
    return pid;
  }

  /** The redis child started by this node's process (left behind by a crash), via its pidfile. */
  killStaleChild(): Promise<void> {
    killChildOf(this.dir);
    return Promise.resolve();
  }
}

/** Kill the redis child whose pidfile is in `dir`, if it is still that child (its command line
 * names the socket in `dir`). */
export function killChildOf(dir: string): void {
  const pid = childPidOf(dir);
  if (pid === undefined) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
}

/** The redis child whose pidfile is in `dir`, if it still runs (its command line names `dir`). */
export function childPidOf(dir: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(`${dir}/redis/redis.pid`).trim());
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(dir) ? pid : undefined;
  } catch {
    return undefined; // no pidfile, or no such process
  }
}

function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch { /* gone */ }
}

/** Retry `fn` until it returns a truthy value, bounded by time. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value as T;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** What `promise` settles to, or "timed out" if it has not within `ms` (rejections pass on). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timed out">((resolve) => {
    timer = setTimeout(() => resolve("timed out"), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
