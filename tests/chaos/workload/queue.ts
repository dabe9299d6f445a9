/**
 * @module
 * Queue workload: producers `LPUSH` unique values onto a few lists and consumers take them from
 * the other end with blocking and plain pops (`BRPOP`, `BLMPOP ... RIGHT COUNT n`, `RPOP`), one
 * or two keys at a time, with timeouts from 50 ms to 1 s and, rarely, none at all (the pop then
 * waits until the operation's deadline and the client hangs up). Every element must reach at most
 * one consumer, in FIFO order, and no acknowledged one may vanish. An `-UNBLOCKED` reply counts
 * as a pop that took nothing: a waiter is dropped at the same log entry on every node.
 */
import { checkQueue, type Dequeued } from "../checker/queue.ts";
import type { Operation } from "../history.ts";
import type { Reply } from "../resp_connection.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

/** The share of pops that wait with no timeout (until the client's deadline). */
const endlessPopShare = 0.03;
const popTimeoutsSec = ["0.05", "0.1", "0.25", "0.5", "1"];
const blmpopCountMax = 3;

export class QueueWorkload implements Workload {
  readonly name = "queue";
  private nextValue = 0;
  private readonly keys: string[];

  constructor(keyCount = 3) {
    this.keys = Array.from({ length: keyCount }, (_, i) => `q${i}`);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    if (context.random() < 0.5) return this.enqueue(client, context);
    const keys = [pick(this.keys, context.random)];
    if (context.random() < 0.3) {
      const other = pick(this.keys, context.random);
      if (other !== keys[0]) keys.push(other);
    }
    const roll = context.random();
    const timeout = context.random() < endlessPopShare ? "0" : pick(popTimeoutsSec, context.random);
    const command = roll < 0.15 ? ["RPOP", keys[0]] : roll < 0.6 ? ["BRPOP", ...keys, timeout] : [
      "BLMPOP",
      timeout,
      String(keys.length),
      ...keys,
      "RIGHT",
      "COUNT",
      String(1 + Math.floor(context.random() * blmpopCountMax)),
    ];
    const popKeys = command[0] === "RPOP" ? keys.slice(0, 1) : keys;
    const op = context.history.invoke(client.id, "dequeue", popKeys.join(" "), command.join(" "));
    const outcome = await client.run([command], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      // The waiter was dropped by a log entry of a newer term, the same one on every node.
      const dropped = outcome.kind === "info" && /unexpected error: UNBLOCKED/.test(outcome.detail);
      return context.history.complete(
        op,
        dropped ? "fail" : outcome.kind,
        undefined,
        outcome.detail,
      );
    }
    const taken = dequeuedOf(command[0], popKeys[0], outcome.replies[0]);
    if (taken === undefined) {
      return context.history.complete(
        op,
        "info",
        undefined,
        `unexpected reply ${JSON.stringify(outcome.replies[0])}`,
      );
    }
    context.history.complete(op, "ok", taken, outcome.detail);
  }

  async finalReads(
    client: ClusterClient,
    context: WorkloadContext,
    timeoutMs: number,
  ): Promise<void> {
    for (const key of this.keys) {
      await readUntilOk(async () => {
        const op = context.history.invoke(client.id, "read", key, "final");
        const outcome = await client.run([["LRANGE", key, "0", "-1"]], context.opTimeoutMs);
        if (outcome.kind !== "ok") {
          context.history.complete(op, outcome.kind, undefined, outcome.detail);
        } else if (!Array.isArray(outcome.replies[0])) {
          context.history.complete(op, "info", undefined, JSON.stringify(outcome.replies[0]));
        } else context.history.complete(op, "ok", outcome.replies[0].map(String));
        return op;
      }, timeoutMs / this.keys.length);
    }
  }

  check(ops: Operation[]) {
    return [checkQueue(ops)];
  }

  private async enqueue(client: ClusterClient, context: WorkloadContext): Promise<void> {
    const key = pick(this.keys, context.random);
    const value = `${this.nextValue++}`;
    const op = context.history.invoke(client.id, "enqueue", key, value);
    const outcome = await client.run([["LPUSH", key, value]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    if (typeof outcome.replies[0] !== "number") {
      return context.history.complete(
        op,
        "info",
        undefined,
        `unexpected reply ${JSON.stringify(outcome.replies[0])}`,
      );
    }
    context.history.complete(op, "ok", outcome.replies[0], outcome.detail);
  }
}

/** What a pop's reply took (null: nothing), or undefined for a reply of the wrong shape. */
function dequeuedOf(command: string, key: string, reply: Reply): Dequeued | null | undefined {
  if (reply === null) return null;
  if (command === "RPOP") return typeof reply === "string" ? { key, values: [reply] } : undefined;
  if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== "string") return undefined;
  if (command === "BRPOP") {
    return typeof reply[1] === "string" ? { key: reply[0], values: [reply[1]] } : undefined;
  }
  const values = reply[1];
  if (!Array.isArray(values) || values.length === 0) return undefined;
  if (values.some((v) => typeof v !== "string")) return undefined;
  return { key: reply[0], values: values as string[] };
}
