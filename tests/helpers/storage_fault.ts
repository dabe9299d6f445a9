/**
 * @module
 * One node's storage fails under a stream of writes (its disk fills, its fsyncs fail): that node
 * must stop with a fatal error instead of acknowledging writes it could not make durable, the
 * other two go on (electing a leader that has every acknowledged write, if it was the leader),
 * and once the fault is healed the node restarts from its log and converges with the others.
 */
import assert from "node:assert/strict";
import { type NodeOptions, NodeProcess, within } from "./node_process.ts";
import { fastTimers, TestCluster } from "./test_cluster.ts";
import { RespError } from "./resp_client.ts";

export interface StorageFault {
  /** Whose storage fails: the first node, which leads, or a follower. */
  whose: "leader" | "follower";
  nodeArgs: string[];
  /** Where the faulty node keeps its data and output, and its environment. */
  faultyNode: Omit<NodeOptions, "args">;
  valueBytes: number;
  /** Writes tried at most: well past the point where the faulty node must have stopped. */
  writesMaxCount: number;
  /** Acknowledged writes before `inject` is called. */
  injectAfterCount: number;
  /** Makes the storage fail (a full disk needs nothing: the writes fill it). */
  inject: () => Promise<void>;
  heal: () => Promise<void>;
  /** What the faulty node's log must say about why it stopped. */
  fatalLine: RegExp;
  /** What its log must say once it has restarted (and stopped again). */
  restartLine?: RegExp;
}

const valueOf = (i: number, bytes: number) => `${i}:`.padEnd(bytes, "v");

export async function runStorageFault(fault: StorageFault): Promise<void> {
  const { whose, valueBytes } = fault;
  const nodes: NodeProcess[] = [];
  try {
    const args = [...fastTimers, ...fault.nodeArgs];
    const faultySlot = whose === "leader" ? 0 : 1;
    for (let slot = 0; slot < 3; slot++) {
      const options = slot === faultySlot ? { ...fault.faultyNode, args } : { args };
      nodes.push(await NodeProcess.start(options));
    }
    const cluster = await TestCluster.form(nodes);
    const [first] = nodes;
    const faulty = nodes[faultySlot];

    // Write to the first node (the leader) until the faulty one stops; remember what was
    // acknowledged.
    const exited = faulty.process!.status;
    let stopped = false;
    exited.then(() => stopped = true);
    const acknowledged: number[] = [];
    let attempts = 0;
    let injected = false;
    const client = await first.client();
    for (let i = 0; i < fault.writesMaxCount && !stopped; i++, attempts++) {
      if (!injected && acknowledged.length >= fault.injectAfterCount) {
        await fault.inject();
        injected = true;
      }
      const reply = await client.call("SET", `k${i}`, valueOf(i, valueBytes)).catch((e) => e);
      if (reply === "OK") acknowledged.push(i);
      else if (!(reply instanceof RespError) && !(reply instanceof Error)) {
        assert.fail(`SET k${i}: ${reply}`);
      }
    }
    client.close();
    const status = await within(exited, 10_000);
    assert.ok(status !== "timed out", `the ${whose} with failing storage stopped`);
    assert.equal(status.code, 1);
    assert.match(await faulty.log(), fault.fatalLine);
    assert.ok(acknowledged.length > 100, `${acknowledged.length} writes acknowledged first`);
    // A follower's disk is not the cluster's: the other two acknowledged every write.
    if (whose === "follower") assert.equal(acknowledged.length, attempts);
    await faulty.stop(); // its redis child, if the node left it behind

    // Every acknowledged write is on the (new) leader; the cluster goes on with two nodes. Through
    // the cluster client, which waits while a new leader is not serving yet (CLUSTERDOWN).
    assert.equal(await cluster.call(["SET", "after", "failure"]), "OK");
    for (const i of acknowledged) {
      assert.equal(await cluster.call(["GET", `k${i}`]), valueOf(i, valueBytes));
    }

    // Healed, the node restarts from its log and catches up.
    await fault.heal();
    await faulty.spawn();
    const [index] = await cluster.waitConverged(30_000);
    assert.ok(index > acknowledged.length, `all three applied index ${index}`);
    // The node's log is complete once it stopped.
    await faulty.stop();
    if (fault.restartLine) assert.match(await faulty.log(), fault.restartLine);
  } finally {
    await Promise.all(nodes.map((node) => node.destroy()));
  }
}
