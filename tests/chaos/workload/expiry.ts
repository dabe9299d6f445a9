/**
 * @module
 * Expiry workload: short-lived keys written whole (`SET ... PX`), modified in place before and
 * after their deadlines (`APPEND`, `INCR` on counters given a deadline with `PEXPIRE`), and read.
 * Nodes that decide expiry at different moments (a replay after a restart, a follower catching up)
 * would keep different values for such keys; the run's convergence check compares every node's
 * dataset once the deadlines have passed. Writes move to fresh keys every `keyEpochMs`, so keys
 * are left alone after their epoch: a difference in them would last until that check. Reads
 * must see a key only as a value the history can explain: a string key is empty or made of the
 * writes' characters.
 */
import type { Operation } from "../history.ts";
import { type Anomaly, type Verdict, verdictOf } from "../checker/verdict.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

/** Deadlines short enough that many pass during a run (and all soon after it). */
const ttlMinMs = 20;
const ttlMaxMs = 800;
const keyEpochMs = 2000;
const keysPerKind = 4;

export class ExpiryWorkload implements Workload {
  readonly name = "expiry";
  private readonly startedAtMs = performance.now();

  /** This epoch's keys of one kind (`s`: strings, `n`: counters). */
  private keys(kind: "s" | "n"): string[] {
    const epoch = Math.floor((performance.now() - this.startedAtMs) / keyEpochMs);
    return Array.from({ length: keysPerKind }, (_, i) => `${kind}${epoch}:${i}`);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    const random = context.random;
    const ttl = String(ttlMinMs + Math.floor(random() * (ttlMaxMs - ttlMinMs)));
    const choice = random();
    const key = pick(this.keys(choice < 0.5 ? "s" : "n"), random);
    let command: string[];
    if (choice < 0.2) command = ["SET", key, "a", "PX", ttl];
    else if (choice < 0.4) command = ["APPEND", key, "b"];
    else if (choice < 0.5) command = ["GET", key];
    else if (choice < 0.8) command = ["INCR", key];
    else if (choice < 0.9) command = ["PEXPIRE", key, ttl];
    else command = ["GET", key];
    const op = context.history.invoke(client.id, command[0].toLowerCase(), key, command);
    const outcome = await client.run([command], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    context.history.complete(op, "ok", outcome.replies[0], outcome.detail);
  }

  async finalReads(
    client: ClusterClient,
    context: WorkloadContext,
    timeoutMs: number,
  ): Promise<void> {
    // After the last deadline, so that the convergence check sees the expired keys gone.
    await new Promise((resolve) => setTimeout(resolve, ttlMaxMs + 200));
    for (const key of [...this.keys("s"), ...this.keys("n")]) {
      await readUntilOk(async () => {
        const op = context.history.invoke(client.id, "get", key, "final");
        const outcome = await client.run([["GET", key]], context.opTimeoutMs);
        if (outcome.kind !== "ok") context.history.complete(op, outcome.kind, undefined);
        else context.history.complete(op, "ok", outcome.replies[0]);
        return op;
      }, timeoutMs / 8);
    }
  }

  check(ops: Operation[]): Verdict[] {
    const anomalies: Anomaly[] = [];
    for (const op of ops) {
      if (op.status !== "ok" || op.f !== "get" || op.output === null) continue;
      const value = String(op.output);
      const explained = String(op.key).startsWith("s")
        ? /^a?b*$/.test(value)
        : /^-?\d+$/.test(value);
      if (!explained) {
        anomalies.push({
          kind: "unexplained-value",
          key: op.key,
          message: `GET ${op.key} read ${JSON.stringify(value)}, which no history of writes gives`,
        });
      }
    }
    const reads = ops.filter((op) => op.f === "get" && op.status === "ok").length;
    return [verdictOf("expiry", anomalies, { reads })];
  }
}
