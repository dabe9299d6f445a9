/**
 * @module
 * Stream workload: producers `XADD key * v <unique value>` onto a few streams, and each client, as
 * its own consumer of one group per stream, reads new entries (`XREADGROUP ... >`), acknowledges
 * what it holds (`XACK`) and takes over entries idle for a while (`XAUTOCLAIM`). Deliveries,
 * claims and acks go through the log, so the group's position, pending entries and owners must
 * come out the same whatever fails: no entry delivered as new twice or skipped, nothing pending
 * lost, nothing acknowledged pending again.
 */
import { checkStream, type StreamEntry, type StreamFinal } from "../checker/stream.ts";
import type { Operation } from "../history.ts";
import type { Reply } from "../resp_connection.ts";
import type { ClusterClient } from "./cluster_client.ts";
import { pick, readUntilOk, type Workload, type WorkloadContext } from "./workload.ts";

const group = "g";
const readCountMax = 5;
const claimCountMax = 3;
const claimMinIdleMs = "200";
const ackIdsMax = 5;
/** Pending entries the final read lists at most, per key. */
const finalPendingMax = "10000000";

export class StreamWorkload implements Workload {
  readonly name = "stream";
  private nextValue = 0;
  private readonly keys: string[];
  private groupsReady: Promise<boolean> | null = null;
  /** Per client and key: ids it was given and has not acknowledged yet. */
  private readonly held = new Map<number, Map<string, string[]>>();

  constructor(keyCount = 3) {
    this.keys = Array.from({ length: keyCount }, (_, i) => `s${i}`);
  }

  async step(client: ClusterClient, context: WorkloadContext): Promise<void> {
    this.groupsReady ??= this.createGroups(client, context);
    if (!await this.groupsReady) {
      this.groupsReady = null;
      return;
    }
    const key = pick(this.keys, context.random);
    const roll = context.random();
    if (roll < 0.4) return this.add(client, context, key);
    const held = this.heldBy(client.id, key);
    if (roll < 0.65 && held.length > 0) return this.ack(client, context, key, held);
    if (roll < 0.75) return this.claim(client, context, key);
    return this.deliver(client, context, key);
  }

  async finalReads(
    client: ClusterClient,
    context: WorkloadContext,
    timeoutMs: number,
  ): Promise<void> {
    for (const key of this.keys) {
      await readUntilOk(async () => {
        const op = context.history.invoke(client.id, "read", key, "final");
        const outcome = await client.run([
          ["XRANGE", key, "-", "+"],
          ["XPENDING", key, group, "-", "+", finalPendingMax],
          ["XINFO", "GROUPS", key],
        ], context.opTimeoutMs);
        if (outcome.kind !== "ok") {
          context.history.complete(op, outcome.kind, undefined, outcome.detail);
          return op;
        }
        const final = finalOf(outcome.replies);
        if (final) context.history.complete(op, "ok", final);
        else context.history.complete(op, "info", undefined, JSON.stringify(outcome.replies));
        return op;
      }, timeoutMs / this.keys.length);
    }
  }

  check(ops: Operation[]) {
    return [checkStream(ops)];
  }

  /** One group per key, from the start of its stream; until they exist no step runs. */
  private async createGroups(client: ClusterClient, context: WorkloadContext): Promise<boolean> {
    for (const key of this.keys) {
      const outcome = await client.run(
        [["XGROUP", "CREATE", key, group, "0", "MKSTREAM"]],
        context.opTimeoutMs,
      );
      const made = outcome.kind === "ok" ||
        (outcome.kind === "info" && /BUSYGROUP/.test(outcome.detail));
      if (!made) return false;
    }
    return true;
  }

  private heldBy(clientId: number, key: string): string[] {
    let byKey = this.held.get(clientId);
    if (!byKey) this.held.set(clientId, byKey = new Map());
    let ids = byKey.get(key);
    if (!ids) byKey.set(key, ids = []);
    return ids;
  }

  private async add(client: ClusterClient, context: WorkloadContext, key: string): Promise<void> {
    const value = `${this.nextValue++}`;
    const op = context.history.invoke(client.id, "add", key, value);
    const outcome = await client.run([["XADD", key, "*", "v", value]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const id = outcome.replies[0];
    if (typeof id !== "string") return unexpected(context, op, id);
    context.history.complete(op, "ok", id, outcome.detail);
  }

  private async deliver(
    client: ClusterClient,
    context: WorkloadContext,
    key: string,
  ): Promise<void> {
    const count = 1 + Math.floor(context.random() * readCountMax);
    const op = context.history.invoke(client.id, "deliver", key, count);
    const outcome = await client.run([[
      "XREADGROUP",
      "GROUP",
      group,
      consumerOf(client),
      "COUNT",
      String(count),
      "STREAMS",
      key,
      ">",
    ]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const reply = outcome.replies[0];
    const entries = reply === null ? [] : Array.isArray(reply) && reply.length === 1 &&
        Array.isArray(reply[0]) && reply[0][0] === key
      ? entriesOf(reply[0][1])
      : undefined;
    if (!entries) return unexpected(context, op, reply);
    this.heldBy(client.id, key).push(...entries.map(([id]) => id));
    context.history.complete(op, "ok", entries, outcome.detail);
  }

  private async claim(client: ClusterClient, context: WorkloadContext, key: string): Promise<void> {
    const count = 1 + Math.floor(context.random() * claimCountMax);
    const op = context.history.invoke(client.id, "claim", key, count);
    const outcome = await client.run([
      ["XAUTOCLAIM", key, group, consumerOf(client), claimMinIdleMs, "0-0", "COUNT", String(count)],
    ], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const reply = outcome.replies[0];
    const entries = Array.isArray(reply) && reply.length === 3 ? entriesOf(reply[1]) : undefined;
    if (!entries) return unexpected(context, op, reply);
    this.heldBy(client.id, key).push(...entries.map(([id]) => id));
    context.history.complete(op, "ok", entries, outcome.detail);
  }

  private async ack(
    client: ClusterClient,
    context: WorkloadContext,
    key: string,
    held: string[],
  ): Promise<void> {
    const ids = held.splice(0, Math.min(held.length, ackIdsMax));
    const op = context.history.invoke(client.id, "ack", key, ids);
    const outcome = await client.run([["XACK", key, group, ...ids]], context.opTimeoutMs);
    if (outcome.kind !== "ok") {
      // A failed ack leaves them pending: acknowledge them again later.
      if (outcome.kind === "fail") held.push(...ids);
      return context.history.complete(op, outcome.kind, undefined, outcome.detail);
    }
    const count = outcome.replies[0];
    if (typeof count !== "number" || count > ids.length) return unexpected(context, op, count);
    context.history.complete(op, "ok", count, outcome.detail);
  }
}

function consumerOf(client: ClusterClient): string {
  return `c${client.id}`;
}

function unexpected(context: WorkloadContext, op: Operation, reply: Reply | undefined): void {
  context.history.complete(op, "info", undefined, `unexpected reply ${JSON.stringify(reply)}`);
}

/** `[[id, ["v", value]], ...]` as entries, or undefined for any other shape. */
function entriesOf(reply: Reply): StreamEntry[] | undefined {
  if (!Array.isArray(reply)) return undefined;
  const entries: StreamEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) {
      return undefined;
    }
    const [field, value] = item[1];
    if (field !== "v" || typeof value !== "string") return undefined;
    entries.push([item[0], value]);
  }
  return entries;
}

/** XRANGE, XPENDING and XINFO GROUPS replies as the key's final state. */
function finalOf(replies: Reply[]): StreamFinal | undefined {
  const [range, pendingReply, groups] = replies;
  const entries = entriesOf(range);
  if (!entries || !Array.isArray(pendingReply) || !Array.isArray(groups)) return undefined;
  const pending: string[] = [];
  for (const item of pendingReply) {
    if (!Array.isArray(item) || typeof item[0] !== "string") return undefined;
    pending.push(item[0]);
  }
  for (const info of groups) {
    if (!Array.isArray(info) || info[info.indexOf("name") + 1] !== group) continue;
    const lastDelivered = info[info.indexOf("last-delivered-id") + 1];
    if (typeof lastDelivered !== "string") return undefined;
    return { entries, pending, lastDelivered };
  }
  return undefined;
}
