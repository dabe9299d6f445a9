/**
 * @module
 * What every workload provides: one random operation for a client, the final reads after the
 * cluster has healed, and the checks of its history.
 */
import type { History, Operation } from "../history.ts";
import type { Verdict } from "../checker/verdict.ts";
import type { ClusterClient } from "./cluster_client.ts";

export interface WorkloadContext {
  history: History;
  random: () => number;
  opTimeoutMs: number;
}

export interface Workload {
  readonly name: string;
  /** Invoke, run and complete one operation in the history. */
  step(client: ClusterClient, context: WorkloadContext): Promise<void>;
  /** Read every key once more (input "final"), retrying until it succeeds or time runs out. */
  finalReads(client: ClusterClient, context: WorkloadContext, timeoutMs: number): Promise<void>;
  check(ops: Operation[], budgetMs: number): Verdict[];
}

/** Run a final read op until it is ok, bounded by time; every attempt stays in the history. */
export async function readUntilOk(
  attempt: () => Promise<Operation>,
  timeoutMs: number,
): Promise<Operation | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const op = await attempt();
    if (op.status === "ok") return op;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

export function pick<T>(items: T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}
