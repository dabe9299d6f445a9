/**
 * Integration: `make cluster`'s script (scripts/cluster.ts) as a newcomer uses it: three nodes
 * come up initialised and joined, redis-cli -c reads and writes through any of them, a second
 * run on the same ports refuses, a node killed with -9 (a follower, a follower's redis child,
 * then the leader) is started again and catches up while the others go on, Ctrl-C (SIGINT) stops
 * every node and child, and the next run reuses the data.
 */
import assert from "node:assert/strict";
import { childPidOf, killChildOf, waitFor } from "../helpers/node_process.ts";
import { infoField } from "../helpers/test_cluster.ts";
import { redisCli } from "../../scripts/redis_cli.ts";

const scriptPath = new URL("../../scripts/cluster.ts", import.meta.url).pathname;

/** The first of `count` consecutive ports on 127.0.0.1 that are free now. */
function freePortRun(count: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let i = 0; i < count; i++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      }
      return base;
    } catch {
      // taken: try another
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/** One run of the script, in a process group of its own (its nodes join it). */
class ClusterScript {
  output = "";
  private readonly process: Deno.ChildProcess;
  private readonly reading: Promise<void>;

  constructor(basePort: number, readonly dir: string) {
    this.process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        scriptPath,
        "--nodes",
        "3",
        "--base-port",
        String(basePort),
        "--dir",
        dir,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    this.reading = Promise.all([
      this.collect(this.process.stdout),
      this.collect(this.process.stderr),
    ])
      .then(() => {});
  }

  private async collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) this.output += text;
  }

  waitOutput(pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitFor(() => Promise.resolve(this.output.match(pattern)), what, timeoutMs);
  }

  /** The script's exit status once it ends by itself and its output is read to the end. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.process.status;
    await this.reading;
    return status;
  }

  /** Ctrl-C: returns the script's exit status once its output is read to the end. */
  interrupt(): Promise<Deno.CommandStatus> {
    this.process.kill("SIGINT");
    return this.exited();
  }

  /** Whatever is left of the group (after a failed test). */
  async kill(): Promise<void> {
    try {
      Deno.kill(-this.process.pid, "SIGKILL");
    } catch { /* gone */ }
    await this.process.status;
    await this.reading.catch(() => {});
  }
}

async function nodePid(port: number): Promise<number> {
  return Number(infoField(await redisCli(port, "INFO", "server"), "process_id"));
}

/**
 * Kills node `port` (or its redis child) with SIGKILL; waits until the script has started the
 * node again and it knows a leader.
 */
async function killAndWaitBack(
  script: ClusterScript,
  port: number,
  name: string,
  victim: "node" | "child" = "node",
) {
  const pid = await nodePid(port);
  assert.ok(pid > 0, `${name}'s pid`);
  const childPid = childPidOf(`${script.dir}/${name}`);
  assert.ok(childPid !== undefined, `${name}'s child pid`);
  Deno.kill(victim === "node" ? pid : childPid, "SIGKILL");
  // A node whose child dies stops (fail-stop) with exit code 1.
  const how = victim === "node" ? "signal SIGKILL" : "exit code 1";
  await script.waitOutput(
    new RegExp(`\\[cluster\\] ${name} died \\(${how}\\); restarting it in \\d+ ms`),
    `the script to restart ${name}`,
    10_000,
  );
  await waitFor(
    async () => {
      const newPid = await nodePid(port).catch(() => 0);
      const info = await redisCli(port, "INFO", "raft");
      return newPid > 0 && newPid !== pid && infoField(info, "raft_state") === "up" &&
        infoField(info, "raft_leader_id") !== "-1";
    },
    `${name} back in the cluster`,
    60_000,
  );
}

async function digests(ports: number[]): Promise<string[]> {
  return await Promise.all(ports.map((port) => redisCli(port, "RAFT.DEBUG", "DIGEST")));
}

Deno.test("make cluster: up, redis-cli -c on any node, a killed node restarted, Ctrl-C stops all, a second run reuses the data", async () => {
  const basePort = freePortRun(3);
  const ports = [basePort, basePort + 1, basePort + 2];
  const dir = await Deno.makeTempDir({ prefix: "redisraft-make-cluster-" });
  const nodeDirs = ["n1", "n2", "n3"].map((name) => `${dir}/${name}`);
  let script = new ClusterScript(basePort, dir);
  try {
    const up = await script.waitOutput(
      /3 node\(s\) up on 127\.0\.0\.1 port\(s\) [\d, ]+; leader on port (\d+)\./,
      "the cluster up",
      120_000,
    );
    assert.ok(ports.includes(Number(up[1])), script.output);
    assert.match(script.output, /RAFT\.CLUSTER INIT on \d+: OK [0-9a-f]{32}/);
    assert.equal(await redisCli(ports[1], "-c", "SET", "greeting", "hello"), "OK");
    assert.equal(await redisCli(ports[2], "-c", "GET", "greeting"), "hello");

    // A second run on the same ports refuses at once (it would report the first run's cluster).
    const second = new ClusterScript(basePort, `${dir}-second`);
    const secondStatus = await second.exited();
    assert.equal(secondStatus.code, 1, second.output);
    assert.match(second.output, /already in use \(another make cluster\?\)/);
    assert.equal(await redisCli(ports[0], "-c", "GET", "greeting"), "hello");

    // A follower dies: the others go on; it comes back and catches up.
    const leaderPort = Number(up[1]);
    const followerIndex = ports.findIndex((port) => port !== leaderPort);
    await killAndWaitBack(script, ports[followerIndex], `n${followerIndex + 1}`);
    // A follower's redis child dies: the node stops, comes back and rebuilds it from its log.
    const otherIndex = ports.findIndex((port, index) =>
      port !== leaderPort && index !== followerIndex
    );
    await killAndWaitBack(script, ports[otherIndex], `n${otherIndex + 1}`, "child");
    // The leader dies: it comes back and writes go on.
    const leaderIndex = ports.indexOf(leaderPort);
    await killAndWaitBack(script, leaderPort, `n${leaderIndex + 1}`);
    await waitFor(
      async () => (await redisCli(leaderPort, "-c", "SET", "after", "failover")) === "OK",
      "a write after the failover",
      30_000,
    );
    await waitFor(
      async () => {
        const all = await digests(ports);
        return all.every((digest) => digest === all[0]) ? true : undefined;
      },
      "every node at the same applied index and digest",
      30_000,
    );
    for (const port of ports) {
      assert.equal(await redisCli(port, "RAFT.DEBUG", "EXEC", "GET", "after"), "failover");
    }

    // SHUTDOWN stops the node it is sent to, which the script leaves down; Ctrl-C stops the
    // others. Each node stops its redis child and waits for it (reaps it).
    const pids = await Promise.all(ports.map(nodePid));
    const childPids = nodeDirs.map((nodeDir) => childPidOf(nodeDir));
    assert.ok(childPids.every((pid) => pid !== undefined), "every node's child found");
    // First it leaves the cluster (RAFT.NODE REMOVE), so the next run shows it as outside.
    const roles = await Promise.all(
      ports.map(async (port) => infoField(await redisCli(port, "INFO", "raft"), "raft_role")),
    );
    const currentLeader = ports[roles.indexOf("leader")];
    const shutIndex = ports.findIndex((port) => port !== currentLeader);
    const shutId = infoField(await redisCli(ports[shutIndex], "INFO", "raft"), "raft_node_id")!;
    assert.equal(await redisCli(currentLeader, "RAFT.NODE", "REMOVE", shutId), "OK");
    await waitFor(
      async () => {
        const info = await redisCli(ports[shutIndex], "INFO", "raft");
        return infoField(info, "raft_state") === "uninitialized" ? true : undefined;
      },
      "the removed node to leave",
      15_000,
    );
    await redisCli(ports[shutIndex], "SHUTDOWN", "NOSAVE");
    await script.waitOutput(
      new RegExp(`\\[cluster\\] n${shutIndex + 1} stopped \\(exit code 0\\); not restarting it`),
      "the script to leave the shut down node down",
      10_000,
    );
    assert.equal(await redisCli(ports[shutIndex], "PING"), "", "nothing listens there any more");
    assert.equal(await redisCli(currentLeader, "-c", "SET", "two", "of three"), "OK");
    const status = await script.interrupt();
    assert.equal(status.code, 0, script.output);
    for (const pid of [...pids, ...childPids]) {
      const state = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "gone");
      assert.equal(state, "gone", `process ${pid} is left after the stop: ${state.slice(0, 80)}`);
    }

    // The next run reuses the cluster and its data, and names the node that is not a member.
    script = new ClusterScript(basePort, dir);
    await script.waitOutput(/3 node\(s\) up on/, "the cluster up again", 120_000);
    assert.match(script.output, /reusing the existing cluster/);
    await script.waitOutput(
      new RegExp(`n${shutIndex + 1} \\(port ${ports[shutIndex]}\\) is not a member`),
      "the removed node named",
      10_000,
    );
    const member = ports.find((_, index) => index !== shutIndex)!;
    await waitFor(
      async () => (await redisCli(member, "-c", "GET", "greeting")) === "hello",
      "the data of the first run",
      30_000,
    );
    assert.equal(await redisCli(member, "-c", "GET", "two"), "of three");
    assert.equal((await script.interrupt()).code, 0, script.output);
  } finally {
    await script.kill();
    for (const nodeDir of nodeDirs) killChildOf(nodeDir);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
