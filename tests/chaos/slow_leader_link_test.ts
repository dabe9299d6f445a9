/**
 * @module
 * One slow link does not slow the cluster. Three nodes in network namespaces take writes of 1 KB
 * values from eight clients that follow MOVED to the leader. The leader's link slowed to
 * 256 kbit/s (its queue holding 200 ms, what overflows dropped; every write then waits for it,
 * and a few a second get through) moves leadership to another node within a few seconds
 * (--link-slow-ms). The slow node is then a follower, which costs nothing: the new leader and the
 * other follower make the quorum, writes go at their usual pace again, and leadership stays. No
 * acknowledged write is lost.
 */
import assert from "node:assert/strict";
import { CutOffTrio, raftInfo } from "./cut_off_leader.ts";
import { callOnce, RespConnection, RespError } from "./resp_connection.ts";
import { waitFor } from "../helpers/node_process.ts";

const slowRateKbit = 256;
const slowQueueMs = 200;
const writersCount = 8;
const value = "v".repeat(1024);
/** Acknowledged writes in `paceWindowMs` beyond a leader behind the slow link (~5 a second). */
const paceWrites = 200;
const paceWindowMs = 3_000;

/** Clients writing `value` to their own keys, each following MOVED; counts acknowledgements. */
class Writers {
  acked = 0;
  /** The sequence number each writer's key last acknowledged. */
  readonly lastAcked: number[] = new Array(writersCount).fill(-1);
  private stopping = false;
  private readonly done: Promise<void[]>;

  constructor(private readonly trio: CutOffTrio) {
    this.done = Promise.all(Array.from({ length: writersCount }, (_, i) => this.run(i)));
  }

  private async run(writer: number): Promise<void> {
    let addr = this.trio.nodes[writer % 3].addr;
    let conn: RespConnection | null = null;
    for (let seq = 0; !this.stopping && seq < 1_000_000; seq++) {
      try {
        conn ??= await RespConnection.connect(addr, 2_000);
        const reply = await conn.call(["SET", `w${writer}`, `${seq}:${value}`], 5_000);
        if (reply === "OK") {
          this.acked++;
          this.lastAcked[writer] = seq;
        } else if (reply instanceof RespError && reply.message.startsWith("MOVED ")) {
          addr = reply.message.split(" ")[2];
          conn.close();
          conn = null;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } catch {
        conn?.close();
        conn = null;
        addr = this.trio.nodes[(writer + seq) % 3].addr;
      }
    }
    conn?.close();
  }

  /** Acknowledged writes during the next `windowMs`. */
  async paceOver(windowMs: number): Promise<number> {
    const before = this.acked;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    return this.acked - before;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }
}

async function leaderSlot(trio: CutOffTrio): Promise<number | undefined> {
  for (const [slot, node] of trio.nodes.entries()) {
    const role = await raftInfo(node.addr, "raft_role").catch(() => undefined);
    if (role === "leader") return slot;
  }
  return undefined;
}

Deno.test({
  name: "a slow leader link moves leadership off it; as a follower it then costs nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "redisraft-slowlink-" });
    try {
      await slowLeaderLinkScenario(root);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

async function slowLeaderLinkScenario(root: string): Promise<void> {
  const trio = await CutOffTrio.start(root, () => ({ args: [] }));
  const writers = new Writers(trio);
  try {
    assert.ok(await writers.paceOver(paceWindowMs) >= paceWrites, "pace with every link fast");
    await trio.network.slowLink(0, slowRateKbit, slowQueueMs);
    const newLeader = await waitFor(
      async () => {
        const slot = await leaderSlot(trio);
        return slot !== undefined && slot !== 0 ? slot : undefined;
      },
      "leadership to leave the node behind the slow link",
      10_000,
    );
    // The slow node is a follower now, and costs the others nothing.
    const withSlowFollower = await writers.paceOver(paceWindowMs);
    assert.ok(withSlowFollower >= paceWrites, `${withSlowFollower} writes, a follower slow`);
    assert.equal(await leaderSlot(trio), newLeader, "a slow follower moves no leadership");

    await writers.stop();
    await trio.network.restoreLink(0);
    for (const [writer, seq] of writers.lastAcked.entries()) {
      if (seq < 0) continue;
      let stored = await callOnce(trio.nodes[newLeader].addr, ["GET", `w${writer}`], 10_000);
      if (stored instanceof RespError && stored.message.startsWith("MOVED ")) {
        stored = await callOnce(stored.message.split(" ")[2], ["GET", `w${writer}`], 10_000);
      }
      const storedSeq = Number(String(stored).split(":")[0]);
      assert.ok(storedSeq >= seq, `w${writer}: ${storedSeq} stored, ${seq} acknowledged`);
    }
  } finally {
    await writers.stop();
    await trio.destroy();
  }
  // Read once the nodes are stopped: their output reaches the file through this process.
  const log = await Deno.readTextFile(trio.nodes[0].spec.logPath);
  assert.match(
    log,
    /this node's link is slow, lossy or cut: (handing leadership over|.*stepping down)/,
  );
}
