/**
 * @module
 * List-append workload (the one Jepsen ran against RedisRaft): appends of unique values as
 * `MULTI; RPUSH k v; LRANGE k 0 -1; EXEC` (so each append also reads the list it produced) and
 * plain `LRANGE k 0 -1` reads. Keys rotate: only a few are active at a time and each takes a
 * bounded number of appends, so lists stay short and the checks fast.
 */
import { checkListAppend } from "../checker/list_append.ts";
import type { Operation } from "../history.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

export class ListAppendWorkload implements Workload {
  readonly name = "list-append";
  private nextValue = 0;
  private appendsStarted = 0;
  private readonly usedKeys = new Set<string>();

  constructor(private readonly activeKeys = 4, private readonly appendsPerKeyMax = 200) {}

  private activeKey(random: () => number): string {
    const rotations = Math.floor(this.appendsStarted / this.appendsPerKeyMax);
    const key = `l${rotations * this.activeKeys + Math.floor(random() * this.activeKeys)}`;
    this.usedKeys.add(key);
    return key;
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    const key = this.activeKey(context.random);
    if (context.random() < 0.5) {
      await this.read(client, context, key, null);
      return;
    }
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
    return [checkListAppend(ops)];
  }

  private async read(client: ClusterClient, context: WorkloadContext, key: string, input: unknown) {
    const op = context.history.invoke(client.id, "read", key, input);
    const outcome = await client.run([["LRANGE", key, "0", "-1"]], context.opTimeoutMs);
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
    return op;
  }
}
