/**
 * @module
 * Counter workload: INCR and GET on a few keys; the final value must lie between the acknowledged
 * increments and those plus the indeterminate ones, and observed values never go backwards.
 */
import { checkCounter } from "../checker/counter.ts";
import type { Operation } from "../history.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

export class CounterWorkload implements Workload {
  readonly name = "counter";
  private readonly keys: string[];

  constructor(keyCount = 3) {
    this.keys = Array.from({ length: keyCount }, (_, i) => `c${i}`);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    const key = pick(this.keys, context.random);
    if (context.random() < 0.3) {
      await this.read(client, context, key, null);
      return;
    }
    const op = context.history.invoke(client.id, "incr", key, null);
    const outcome = await client.run([["INCR", key]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const value = outcome.replies[0];
    if (typeof value !== "number") {
      return context.history.complete(
        op,
        "info",
        undefined,
        `unexpected reply ${JSON.stringify(value)}`,
      );
    }
    context.history.complete(op, "ok", value, outcome.detail);
  }

  async finalReads(
    client: ClusterClient,
    context: WorkloadContext,
    timeoutMs: number,
  ): Promise<void> {
    for (const key of this.keys) {
      await readUntilOk(
        () => this.read(client, context, key, "final"),
        timeoutMs / this.keys.length,
      );
    }
  }

  check(ops: Operation[]) {
    return [checkCounter(ops)];
  }

  private async read(client: ClusterClient, context: WorkloadContext, key: string, input: unknown) {
    const op = context.history.invoke(client.id, "read", key, input);
    const outcome = await client.run([["GET", key]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      context.history.complete(op, outcome.kind, undefined, outcome.detail);
    } else {context.history.complete(
        op,
        "ok",
        outcome.replies[0] === null ? 0 : Number(outcome.replies[0]),
      );}
    return op;
  }
}
