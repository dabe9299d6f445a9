/**
 * @module
 * Applies committed entries to the redis child strictly in log order. Most entries are written
 * to the ordered child connection without waiting (pipelined); an entry whose effect depends on
 * the child's answer (a blocking command, or a write that may serve blocked clients) is a
 * barrier: later entries wait for its answer, so every node takes the same decisions in the
 * same order. Each entry's reply is routed to the client that proposed it, if it is here.
 */
import { decodeMembershipChange, type Entry, EntryType } from "../raft/mod.ts";
import { RequestParser } from "../resp/mod.ts";
import { commandKeys, type CommandTable } from "../redis/command_table.ts";
import type { CommandParts, PipelinedConnection } from "../redis/pipelined_connection.ts";
import { encodeBulk, encodeError, nullArrayFor } from "../server/replies.ts";
import type { ReplySlot } from "../server/reply_queue.ts";
import { BatchSlot } from "./write_batch.ts";
import {
  BlockedClients,
  decodeWaitEnd,
  isNothing,
  parseBlocking,
  servedReply,
  tryCommand,
  type Waiter,
} from "./blocked_clients.ts";
import { decodePayload, type EntryPayload, PayloadKind } from "./entry_payload.ts";
import type { ChildConfig } from "./child_config.ts";
import { atTime, atTimeParts } from "./child_clock.ts";

const clockPing = new TextEncoder().encode("*1\r\n$4\r\nPING\r\n");
import type { PendingWrites } from "./pending_requests.ts";
import { type ScriptRegistry, sha1Hex } from "./script_registry.ts";
import { type WatchHistory } from "./watch_history.ts";
import { binaryBytes, keyString, lowerAscii } from "../resp/bytes.ts";

const ok = new TextEncoder().encode("+OK\r\n");
const droppedWaiter = "UNBLOCKED the leader changed while the client was blocked";
const unblockedError = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
const everything = ["flushall", "flushdb", "swapdb"];

export interface ApplyContext {
  child: () => PipelinedConnection;
  commands: () => CommandTable;
  pendingWrites: PendingWrites;
  scripts: ScriptRegistry;
  watchHistory: WatchHistory;
  blocked: BlockedClients;
  childConfig: ChildConfig;
  /** The child has the clock library: commands go with the entry's time (RAFT.AT). */
  childClock: () => boolean;
  /** The sandboxed text of a script (what the children run). */
  sandboxText: (text: string) => string;
  /** Milliseconds clock for blocked-client deadlines (leader side). */
  nowMs: () => number;
  /** Called once the entry's effects are in the child (in order). */
  applied: (entry: Entry) => void;
  nodeRemoved: (nodeId: number) => void;
  fatal: (message: string) => void;
}

/** Applied entries left at the backlog's front before it is copied down. */
const backlogCompactAfterEntries = 1024;

export class ApplyLoop {
  private backlog: Entry[] = [];
  private head = 0;
  private stalled = false;

  constructor(private readonly ctx: ApplyContext) {}

  /** Entries waiting behind a barrier. */
  get backlogCount(): number {
    return this.backlog.length - this.head;
  }

  private idleWaiters: (() => void)[] = [];

  /** Every pushed entry is applied and no barrier is pending. */
  get isIdle(): boolean {
    return !this.stalled && this.head === this.backlog.length;
  }

  /** Resolves once every pushed entry is applied and no barrier is pending. */
  whenIdle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  push(entries: readonly Entry[]): void {
    for (const entry of entries) this.backlog.push(entry);
    this.drain();
  }

  private drain(): void {
    while (!this.stalled && this.head < this.backlog.length) {
      const entry = this.backlog[this.head++];
      const barrier = this.applyEntry(entry);
      if (barrier) {
        this.stalled = true;
        barrier.then(
          () => {
            this.stalled = false;
            this.ctx.applied(entry);
            this.drain();
          },
          (error) =>
            this.ctx.fatal(`apply of entry ${entry.index} failed: ${error?.stack ?? error}`),
        );
        break;
      }
      this.ctx.applied(entry);
    }
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
      if (!this.stalled && this.idleWaiters.length > 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const wake of waiters) wake();
      }
    } else if (this.head > backlogCompactAfterEntries && this.head * 2 > this.backlog.length) {
      // Entries keep arriving while barriers stall: applied ones must not pile up in front.
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
  }

  private applyEntry(entry: Entry): Promise<void> | undefined {
    // A leader change ends every wait, as RedisRaft disconnects blocked clients.
    for (const waiter of this.ctx.blocked.dropOlderThan(entry.term)) {
      waiter.slot?.complete(encodeError(droppedWaiter));
      waiter.slot?.queue.closeConnection();
    }
    if (entry.type !== EntryType.Normal) {
      this.ctx.pendingWrites.take(entry.index, entry.term);
      if (entry.type === EntryType.RemoveNode) {
        this.ctx.nodeRemoved(decodeMembershipChange(entry.data).nodeId);
      }
      return undefined;
    }
    const payload = decodePayload(entry.data);
    const slot = this.ctx.pendingWrites.take(entry.index, entry.term);
    switch (payload.kind) {
      case PayloadKind.Blocking:
        return this.applyBlocking(entry, payload, slot);
      case PayloadKind.BlockedTimeout: {
        const { waiterId, withError } = decodeWaitEnd(payload.commandBytes);
        const waiting = this.ctx.blocked.remove(waiterId)?.slot;
        waiting?.complete(withError ? encodeError(unblockedError) : nullArrayFor(waiting.protocol));
        slot?.complete(ok);
        return undefined;
      }
      case PayloadKind.ChildConfig:
        return this.applyChildConfig(payload, slot);
      case PayloadKind.Clock:
        if (payload.timeMs !== undefined && this.ctx.childClock()) {
          const child = this.ctx.child();
          child.sendWithoutReply(atTime(clockPing, payload.timeMs, child));
        }
        slot?.complete(ok);
        return undefined;
      case PayloadKind.ScriptFlush:
        this.ctx.scripts.clear();
        break;
    }
    if (payload.script) {
      const sha = this.ctx.scripts.add(keyString(payload.script));
      if (payload.commandBytes.length === 0) slot?.complete(encodeBulk(sha)); // SCRIPT LOAD
    }
    if (payload.scripts) {
      for (const text of payload.scripts) {
        this.ctx.scripts.add(keyString(text));
      }
    }
    if (payload.commandBytes.length === 0) return undefined;
    if (payload.parts) return this.applyBatch(entry, payload, slot, 0);
    if (payload.watch) {
      const keys = new Set(payload.watch.keys.map(keyString));
      if (this.ctx.watchHistory.modifiedSince(payload.watch.index, keys)) {
        // A watched key changed: EXEC aborts, identically on every node.
        slot?.complete(nullArrayFor(slot.protocol));
        return undefined;
      }
    }
    this.ctx.watchHistory.record(entry.index, payload.commandBytes);
    const bytes = this.timed(payload.commandBytes, payload.timeMs);
    // Nobody waits for the reply of an entry proposed elsewhere (or whose client left).
    if (slot) {
      const scripts = payload.script ? [payload.script] : payload.scripts;
      this.ctx.child().send(
        bytes,
        payload.replyCount,
        (frame) => slot.complete(scripts ? this.withClientShas(frame, scripts) : frame),
        slot.protocol,
        slot,
      );
    } else {
      this.ctx.child().sendWithoutReply(bytes);
    }
    if (this.ctx.blocked.size === 0) return undefined;
    return this.serveWaiters(entry.index, this.touchedKeys(payload.commandBytes), payload.timeMs);
  }

  /**
   * A Batch's commands from `from` on, in order, each answered on its own slot (on the node
   * that proposed it). Blocked clients are served after each command that may wake them, as
   * Redis does, so a later command of the batch sees what they took.
   */
  private applyBatch(
    entry: Entry,
    payload: EntryPayload,
    slot: ReplySlot | undefined,
    from: number,
  ): Promise<void> | undefined {
    const parts = payload.parts!;
    const slots = slot instanceof BatchSlot ? slot.parts : undefined;
    const child = this.ctx.child();
    for (let i = from; i < parts.length; i++) {
      this.ctx.watchHistory.record(entry.index, parts[i]);
      const bytes = this.timed(parts[i], payload.timeMs);
      const part = slots?.[i];
      if (part) child.send(bytes, 1, (frame) => part.complete(frame), part.protocol, part);
      else child.sendWithoutReply(bytes);
      if (this.ctx.blocked.size === 0) continue;
      const served = this.serveWaiters(entry.index, this.touchedKeys(parts[i]), payload.timeMs);
      if (served) return served.then(() => this.applyBatch(entry, payload, slot, i + 1));
    }
    return undefined;
  }

  /**
   * A script's error names the SHA1 of the sandboxed text the child ran; the client knows its
   * script by the SHA1 of what it sent. `scripts` are the entry's original texts.
   */
  private withClientShas(frame: Uint8Array, scripts: readonly Uint8Array[]): Uint8Array {
    if (!frame.includes(45 /* '-' */)) return frame;
    const text = keyString(frame);
    if (!scriptShaPattern.test(text)) return frame;
    const clientShas = new Map(scripts.map((script) => {
      const original = keyString(script);
      return [sha1Hex(this.ctx.sandboxText(original)), sha1Hex(original)];
    }));
    const fixed = text.replace(
      new RegExp(scriptShaPattern.source, "g"),
      (found, prefix: string, sha: string) => {
        const clientSha = clientShas.get(sha);
        return clientSha ? prefix + clientSha : found;
      },
    );
    return fixed === text ? frame : binaryBytes(fixed);
  }

  /** An entry's commands as the child runs them at the entry's `timeMs` (when it has a clock). */
  private timed(commandBytes: Uint8Array, timeMs: number | undefined): CommandParts {
    if (timeMs === undefined || !this.ctx.childClock()) return commandBytes;
    return atTimeParts(commandBytes, timeMs, this.ctx.child());
  }

  /** A replicated CONFIG SET: the apply waits for the child's answer to record what it took. */
  private async applyChildConfig(payload: EntryPayload, slot: ReplySlot | undefined) {
    const frame = await this.ctx.child().request(payload.commandBytes, 1, slot?.protocol, slot);
    if (frame[0] === 43 /* '+' */) this.ctx.childConfig.accepted(parseOne(payload.commandBytes));
    slot?.complete(frame);
  }

  private async applyBlocking(
    entry: Entry,
    payload: EntryPayload,
    slot: ReplySlot | undefined,
  ): Promise<void> {
    const args = parseOne(payload.commandBytes);
    const call = parseBlocking(lowerAscii(args[0]), args);
    if (typeof call === "string") {
      slot?.complete(encodeError(call));
      return;
    }
    const frame = await this.try(entry.index, call, payload.timeMs);
    if (!isNothing(frame)) {
      slot?.complete(servedReply(frame, call.mode, slot.protocol));
      if (!frame.length || frame[0] !== 45 /* error */) {
        await this.afterServe(entry.index, call, payload.timeMs);
      }
      return;
    }
    const waiter: Waiter = {
      id: entry.index,
      term: entry.term,
      call,
      keyStrings: call.keys.map(keyString),
      slot,
      deadlineMs: slot && call.timeoutMs > 0 ? this.ctx.nowMs() + call.timeoutMs : undefined,
    };
    this.ctx.blocked.add(waiter);
  }

  /** Try waiters (FIFO) whose keys were touched; a served move may touch more keys. */
  private async serveWaiters(
    index: number,
    touched: Set<string> | null,
    timeMs: number | undefined,
  ): Promise<void> {
    const pending: (Set<string> | null)[] = [touched];
    for (let rounds = 0; pending.length > 0 && rounds < 10_000; rounds++) {
      const keys = pending.shift()!;
      for (const waiter of this.ctx.blocked.candidates(keys)) {
        if (!this.ctx.blocked.all().includes(waiter)) continue;
        const frame = await this.try(index, waiter.call, timeMs);
        if (isNothing(frame)) continue;
        this.ctx.blocked.remove(waiter.id);
        waiter.slot?.complete(servedReply(frame, waiter.call.mode, waiter.slot.protocol));
        if (waiter.call.mode === "lmove" || waiter.call.mode === "rpoplpush") {
          pending.push(new Set([keyString(waiter.call.keys[1])]));
        }
      }
    }
  }

  private async afterServe(
    index: number,
    call: { mode: string; keys: Uint8Array[] },
    timeMs: number | undefined,
  ): Promise<void> {
    if (this.ctx.blocked.size === 0) return;
    if (call.mode === "lmove" || call.mode === "rpoplpush") {
      await this.serveWaiters(index, new Set([keyString(call.keys[1])]), timeMs);
    }
  }

  private try(
    index: number,
    call: Parameters<typeof tryCommand>[0],
    timeMs: number | undefined,
  ): Promise<Uint8Array> {
    const command = tryCommand(call);
    this.ctx.watchHistory.record(index, command); // an EVAL: any WATCH spanning it aborts
    return new Promise((resolve) =>
      this.ctx.child().send(this.timed(command, timeMs), 1, (frame) => resolve(frame.slice()))
    );
  }

  /** Keys a write may have touched; null when unknowable (scripts, FLUSHALL, ...). */
  private touchedKeys(commandBytes: Uint8Array): Set<string> | null {
    const touched = new Set<string>();
    const parser = new RequestParser();
    parser.push(commandBytes);
    for (let args = parser.next(); args !== null; args = parser.next()) {
      const name = lowerAscii(args[0]);
      if (name === "multi" || name === "exec") continue;
      if (everything.includes(name)) return null;
      const info = this.ctx.commands().lookup(
        name,
        args.length > 1 ? lowerAscii(args[1]) : undefined,
      );
      if (!info) continue;
      const keys = commandKeys(info, args);
      if (keys === null) return null;
      for (const key of keys) touched.add(keyString(key));
    }
    return touched;
  }
}

function parseOne(bytes: Uint8Array): Uint8Array[] {
  const parser = new RequestParser();
  parser.push(bytes);
  const args = parser.next();
  if (!args) throw new Error("blocking entry holds no command");
  return args;
}

/** Where a script error names a script by SHA1. */
const scriptShaPattern = /(script: |f_)([0-9a-f]{40})/;
