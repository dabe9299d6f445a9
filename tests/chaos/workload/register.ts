/**
 * @module
 * Register workload: GET, SET of unique values, and compare-and-set on a few keys. A CAS is
 * either a Lua script (one EVAL) or WATCH/GET/MULTI/SET/EXEC on one connection; an EXEC that
 * the WATCH aborted did not execute (fail), a GET that shows the wrong value makes it an ok CAS
 * that returned false. Checked for linearizability per key.
 */
import { checkLinearizability } from "../checker/linearizability.ts";
import type { Operation } from "../history.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

const casScript = `local v = redis.call('GET', KEYS[1])
if (ARGV[3] == '1' and v == false) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

export type CasMethod = "lua" | "watch" | "mixed";

export class RegisterWorkload implements Workload {
  readonly name = "register";
  private readonly keys: string[];
  private nextValue = 0;
  /** Last value each client saw per key: the expected value of its next CAS. */
  private readonly lastSeen = new Map<string, string | null>();

  constructor(keyCount = 5, private readonly casMethod: CasMethod = "mixed") {
    this.keys = Array.from({ length: keyCount }, (_, i) => `r${i}`);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    const key = pick(this.keys, context.random);
    const roll = context.random();
    if (roll < 0.4) await this.read(client, context, key, null);
    else if (roll < 0.7) await this.write(client, context, key);
    else await this.cas(client, context, key);
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

  check(ops: Operation[], budgetMs: number) {
    return [checkLinearizability(ops, { budgetMs })];
  }

  private async read(client: ClusterClient, context: WorkloadContext, key: string, input: unknown) {
    const op = context.history.invoke(client.id, "read", key, input);
    const outcome = await client.run([["GET", key]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      context.history.complete(op, outcome.kind, undefined, outcome.detail);
    } else {
      const value = outcome.replies[0] as string | null;
      this.lastSeen.set(`${client.id}/${key}`, value);
      context.history.complete(op, "ok", value);
    }
    return op;
  }

  private async write(client: ClusterClient, context: WorkloadContext, key: string) {
    const value = `${this.nextValue++}`;
    const op = context.history.invoke(client.id, "write", key, value);
    const outcome = await client.run([["SET", key, value]], context.opTimeoutMs);
    if (outcome.kind === "ok" && outcome.replies[0] !== "OK") {
      context.history.complete(
        op,
        "info",
        undefined,
        `unexpected reply ${JSON.stringify(outcome.replies)}`,
      );
    } else {
      context.history.complete(
        op,
        outcome.kind,
        "OK",
        outcome.kind === "ok" ? undefined : outcome.detail,
      );
    }
  }

  private async cas(client: ClusterClient, context: WorkloadContext, key: string) {
    const expected = this.lastSeen.get(`${client.id}/${key}`) ?? null;
    const next = `${this.nextValue++}`;
    const op = context.history.invoke(client.id, "cas", key, [expected, next]);
    const useLua = this.casMethod === "lua" ||
      (this.casMethod === "mixed" && context.random() < 0.5);
    if (useLua) {
      const outcome = await client.run(
        [["EVAL", casScript, "1", key, expected ?? "", next, expected === null ? "1" : "0"]],
        context.opTimeoutMs,
      );
      if (outcome.kind !== "ok") {
        return context.history.complete(op, outcome.kind, undefined, outcome.detail);
      }
      const reply = outcome.replies[0];
      if (reply !== 1 && reply !== 0) {
        return context.history.complete(
          op,
          "info",
          undefined,
          `unexpected reply ${JSON.stringify(reply)}`,
        );
      }
      if (reply === 1) this.lastSeen.set(`${client.id}/${key}`, next);
      return context.history.complete(op, "ok", reply === 1, "lua");
    }
    const deadline = performance.now() + context.opTimeoutMs;
    const watched = await client.run([["WATCH", key], ["GET", key]], context.opTimeoutMs);
    if (watched.kind !== "ok") {
      // Only reads ran: nothing was written whatever happened.
      return context.history.complete(op, "fail", undefined, `watch: ${watched.detail}`);
    }
    if (watched.replies[0] !== "OK") {
      // WATCH refused (e.g. "not supported through the follower proxy"): the connection watches
      // nothing, so an EXEC now would run unconditionally. Nothing was written yet.
      await client.run([["UNWATCH"]], 1000);
      return context.history.complete(
        op,
        "fail",
        undefined,
        `watch refused: ${String(watched.replies[0])}`,
      );
    }
    const current = watched.replies[1] as string | null;
    if (current !== expected) {
      await client.run([["UNWATCH"]], 1000);
      this.lastSeen.set(`${client.id}/${key}`, current);
      return context.history.complete(op, "ok", false, `watch saw ${current}`);
    }
    const exec = await client.run(
      [["MULTI"], ["SET", key, next], ["EXEC"]],
      Math.max(deadline - performance.now(), 1),
      {
        sameConnection: true,
      },
    );
    if (exec.kind !== "ok") {
      return context.history.complete(op, exec.kind, undefined, `exec: ${exec.detail}`);
    }
    const result = exec.replies[2];
    if (result === null) {
      return context.history.complete(op, "fail", undefined, "watch aborted the exec");
    }
    if (Array.isArray(result) && result[0] === "OK") {
      this.lastSeen.set(`${client.id}/${key}`, next);
      return context.history.complete(op, "ok", true, "watch");
    }
    return context.history.complete(
      op,
      "info",
      undefined,
      `unexpected exec reply ${JSON.stringify(result)}`,
    );
  }
}
