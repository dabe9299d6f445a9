/**
 * @module
 * List-append workload (the one Jepsen ran against RedisRaft): appends of unique values as
 * `MULTI; RPUSH k v; LRANGE k 0 -1; EXEC` (so each append also reads the list it produced) and
 * plain `LRANGE k 0 -1` reads. Keys rotate: only a few are active at a time and each takes a
 * bounded number of appends, so lists stay short and the checks fast.
 *
 * As `stale-list` the reads go to a random member over a `READONLY` connection and are answered
 * from that node's own state (input `stale@<addr>`): the checker then holds them to what a
 * replica read promises (a committed prefix, never older than that node served before, restarts
 * included) instead of real-time order.
 */
import { checkListAppend } from "../checker/list_append.ts";
import { checkReplicaReads, staleReadPrefix } from "../checker/replica_reads.ts";
import type { Operation } from "../history.ts";
import type { ClusterClient, Outcome } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

/** How many key rotations back a replica read may go (one rotation takes about 0.5 s). */
const replicaReadRotationsBackMax = 100;

export class ListAppendWorkload implements Workload {
  readonly name: string;
  private nextValue = 0;
  private appendsStarted = 0;
  private readonly usedKeys = new Set<string>();

  constructor(
    private readonly readsFromReplicas = false,
    private readonly activeKeys = 4,
    private readonly appendsPerKeyMax = 200,
  ) {
    this.name = readsFromReplicas ? "stale-list" : "list-append";
  }

  private activeKey(random: () => number, rotationsBack = 0): string {
    const current = Math.floor(this.appendsStarted / this.appendsPerKeyMax);
    const rotation = Math.max(0, current - rotationsBack);
    const key = `l${rotation * this.activeKeys + Math.floor(random() * this.activeKeys)}`;
    this.usedKeys.add(key);
    return key;
  }

  /**
   * Half the replica reads go to keys done with, so that a node restarted after the keys moved
   * on still reads keys it read before it stopped.
   */
  private replicaReadKey(random: () => number): string {
    const rotationsBack = random() < 0.5
      ? Math.floor(random() * (replicaReadRotationsBackMax + 1))
      : 0;
    return this.activeKey(random, rotationsBack);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    if (context.random() < 0.5) {
      if (this.readsFromReplicas) {
        await this.replicaRead(client, context, this.replicaReadKey(context.random));
      } else await this.read(client, context, this.activeKey(context.random), null);
      return;
    }
    const key = this.activeKey(context.random);
    this.appendsStarted++;
    const value = `${this.nextValue++}`;
    const op = context.history.invoke(client.id, "append", key, value);
    const outcome = await client.run(
      [["MULTI"], ["RPUSH", key, value], ["LRANGE", key, "0", "-1"], ["EXEC"]],
      context.opTimeoutMs,
    );
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const exec = outcome.replies[3];
    if (exec === null) return context.history.complete(op, "fail", undefined, "exec aborted");
    if (!Array.isArray(exec) || !Array.isArray(exec[1])) {
      return context.history.complete(
        op,
        "info",
        undefined,
        `unexpected exec reply ${JSON.stringify(exec)}`,
      );
    }
    context.history.complete(op, "ok", exec[1].map(String), outcome.detail);
  }

  async finalReads(
    client: ClusterClient,
    context: WorkloadContext,
    timeoutMs: number,
  ): Promise<void> {
    const keys = [...this.usedKeys].sort();
    for (const key of keys) {
      await readUntilOk(
        () => this.read(client, context, key, "final"),
        Math.max(timeoutMs / keys.length, 2000),
      );
    }
  }

  check(ops: Operation[]) {
    return this.readsFromReplicas
      ? [checkListAppend(ops), checkReplicaReads(ops)]
      : [checkListAppend(ops)];
  }

  private async read(client: ClusterClient, context: WorkloadContext, key: string, input: unknown) {
    const op = context.history.invoke(client.id, "read", key, input);
    const outcome = await client.run([["LRANGE", key, "0", "-1"]], context.opTimeoutMs);
    this.completeRead(context, op, outcome);
    return op;
  }

  private async replicaRead(client: ClusterClient, context: WorkloadContext, key: string) {
    const addr = pick(client.nodeAddresses(), context.random);
    const op = context.history.invoke(client.id, "read", key, `${staleReadPrefix}${addr}`);
    const command = ["LRANGE", key, "0", "-1"];
    this.completeRead(context, op, await client.replicas.read(addr, command, context.opTimeoutMs));
  }

  private completeRead(context: WorkloadContext, op: Operation, outcome: Outcome): void {
    if (outcome.kind !== "ok") {
      context.history.complete(op, outcome.kind, undefined, outcome.detail);
    } else if (!Array.isArray(outcome.replies[0])) {
      context.history.complete(
        op,
        "info",
        undefined,
        `unexpected reply ${JSON.stringify(outcome.replies[0])}`,
      );
    } else context.history.complete(op, "ok", outcome.replies[0].map(String));
  }
}
