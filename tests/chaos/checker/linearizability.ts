/**
 * @module
 * Linearizability checker for registers: the Wing–Gong search with Lowe's memoisation of
 * (linearised set, state), as in Porcupine, run per key (P-compositionality). Indeterminate
 * operations complete at +∞ and may take effect or not; failed ones are dropped. Each key has
 * a share of a time budget; running out answers `unknown`, never a guess.
 *
 * Indeterminate writes whose value nobody ever observed are interchangeable: they all write
 * "some unseen value" and complete at +∞. They are linearised only in invocation order (swapping
 * two of them changes nothing), which turns 2^n subsets into n + 1 and keeps histories with
 * many crashed clients checkable.
 *
 * On an invalid key the history is shrunk to a small failing window: the shortest prefix (by
 * completion time, ops still pending at the cut becoming indeterminate) that is still invalid,
 * then every read whose removal keeps it invalid is removed. Both steps only drop constraints,
 * so the window is itself a proof of the violation.
 */
import { formatOp, type Operation } from "../history.ts";
import {
  ILLEGAL,
  isObservationOnly,
  isRelevantRegisterOp,
  type RegisterState,
  stepRegister,
} from "./register_model.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

export type SearchResult = "valid" | "invalid" | "unknown";

export interface LinearizabilityOptions {
  /** Total wall-clock budget for the search over all keys. */
  budgetMs?: number;
  /** Budget for shrinking one invalid key's history to a window. */
  shrinkBudgetMs?: number;
  /** Most memoised configurations per key before giving up (`unknown`). */
  cacheEntriesMax?: number;
  /** Most operations printed for a failing window. */
  windowOpsMax?: number;
}

interface ListEntry {
  op: number;
  isCall: boolean;
  timeMs: number;
  match: ListEntry | null;
  prev: ListEntry | null;
  next: ListEntry | null;
}

/** Decide whether one key's operations are linearizable (all ops are on the same register). */
export function checkRegisterKey(
  opsIn: Operation[],
  deadlineMs: number,
  cacheEntriesMax = 2_000_000,
  initial: RegisterState = null,
): SearchResult {
  const ops = anonymizeUnseenWrites(opsIn.filter(isRelevantRegisterOp));
  if (ops.length === 0) return "valid";
  const anonRank = anonymousRanks(ops);
  let anonLinearizedCount = 0;
  const head = buildList(ops);
  const words = Math.ceil(ops.length / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const calls: { entry: ListEntry; state: RegisterState }[] = [];
  let state: RegisterState = initial;
  let entry: ListEntry | null = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps % 4096 === 0 && performance.now() > deadlineMs) return "unknown";
    if (entry === null) throw new Error("linearizability: ran off the end of the list");
    if (entry.isCall) {
      const rank = anonRank[entry.op];
      if (rank >= 0 && rank !== anonLinearizedCount) {
        entry = entry.next;
        continue;
      }
      const next = stepRegister(state, ops[entry.op]);
      if (next !== ILLEGAL) {
        setBit(linearized, entry.op, true);
        const key = `${linearized.join(",")}|${next === null ? "\u0000" : next}`;
        if (!cache.has(key)) {
          if (cache.size >= cacheEntriesMax) return "unknown";
          cache.add(key);
          calls.push({ entry, state });
          if (rank >= 0) anonLinearizedCount++;
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        setBit(linearized, entry.op, false);
      }
      entry = entry.next;
    } else {
      const top = calls.pop();
      if (!top) return "invalid";
      state = top.state;
      if (anonRank[top.entry.op] >= 0) anonLinearizedCount--;
      setBit(linearized, top.entry.op, false);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return "valid";
}

/** Check every key of a register history. */
export function checkLinearizability(
  ops: Operation[],
  options: LinearizabilityOptions = {},
): Verdict {
  const started = performance.now();
  const budgetMs = options.budgetMs ?? 60_000;
  const byKey = groupByKey(ops.filter((op) => ["read", "write", "cas"].includes(op.f)));
  const anomalies: Anomaly[] = [];
  const unknownKeys: string[] = [];
  let keysLeft = byKey.size;
  for (const [key, keyOps] of byKey) {
    const remaining = started + budgetMs - performance.now();
    const deadline = performance.now() + Math.max(remaining / keysLeft--, 0);
    const result = checkRegisterKey(keyOps, deadline, options.cacheEntriesMax);
    if (result === "unknown") unknownKeys.push(key);
    if (result !== "invalid") continue;
    const window = shrinkWindow(keyOps, options.shrinkBudgetMs ?? 10_000);
    const shown = window.slice(-(options.windowOpsMax ?? 40));
    anomalies.push({
      kind: "nonlinearizable",
      key,
      message:
        `key ${key}: no linearization exists; smallest failing window found has ${window.length} ops` +
        (shown.length < window.length ? ` (last ${shown.length} shown)` : ""),
      ops: shown.map(formatOp),
    });
  }
  return verdictOf("linearizability", anomalies, {
    keys: byKey.size,
    ops: ops.length,
    unknownKeys: unknownKeys.join(",") || "-",
    elapsedMs: Math.round(performance.now() - started),
  }, unknownKeys.length > 0);
}

/** The operations of `ops` as the history looked at `cutMs`: later ops dropped, pending ones indeterminate. */
export function prefixAt(ops: Operation[], cutMs: number): Operation[] {
  const prefix: Operation[] = [];
  for (const op of ops) {
    if (op.invokeMs > cutMs) continue;
    if (op.completeMs <= cutMs) prefix.push(op);
    else prefix.push({ ...op, status: "info", output: undefined, completeMs: Infinity });
  }
  return prefix;
}

/** Shrink an invalid single-key history to a small window that is still invalid (see module doc). */
export function shrinkWindow(ops: Operation[], budgetMs: number): Operation[] {
  const deadline = performance.now() + budgetMs;
  const isInvalid = (candidate: Operation[]) =>
    checkRegisterKey(candidate, Math.min(deadline, performance.now() + 2000)) === "invalid";
  const cuts = [...new Set(ops.map((op) => op.completeMs).filter(Number.isFinite))].sort((a, b) =>
    a - b
  );
  let lo = 0;
  let hi = cuts.length - 1;
  let best = ops;
  while (lo <= hi && performance.now() < deadline) {
    const mid = (lo + hi) >> 1;
    const candidate = prefixAt(ops, cuts[mid]);
    if (isInvalid(candidate)) {
      best = candidate;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  let window = best.filter(isRelevantRegisterOp);
  for (let i = 0; i < window.length && performance.now() < deadline; i++) {
    if (!isObservationOnly(window[i])) continue;
    const candidate = window.slice(0, i).concat(window.slice(i + 1));
    if (isInvalid(candidate)) {
      window = candidate;
      i--;
    }
  }
  return window.sort((a, b) => a.invokeMs - b.invokeMs);
}

/** Written by every indeterminate write whose value was never observed. */
const unseenValue = "\u0000unseen";

function anonymizeUnseenWrites(ops: Operation[]): Operation[] {
  const observed = new Set<unknown>();
  for (const op of ops) {
    if (op.f === "read" && op.status === "ok") observed.add(op.output);
    if (op.f === "cas") observed.add((op.input as unknown[])[0]);
  }
  return ops.map((op) =>
    op.f === "write" && op.status === "info" && !observed.has(op.input)
      ? { ...op, input: unseenValue }
      : op
  );
}

/** For each op, its rank among the anonymous writes by invocation time, or -1. */
function anonymousRanks(ops: Operation[]): number[] {
  const ranks = ops.map(() => -1);
  const anonymous = ops.map((op, index) => ({ op, index }))
    .filter(({ op }) => op.f === "write" && op.input === unseenValue)
    .sort((a, b) => a.op.invokeMs - b.op.invokeMs || a.index - b.index);
  anonymous.forEach(({ index }, rank) => ranks[index] = rank);
  return ranks;
}

function groupByKey(ops: Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  return byKey;
}

function buildList(ops: Operation[]): ListEntry {
  const entries: ListEntry[] = [];
  ops.forEach((op, index) => {
    const call: ListEntry = {
      op: index,
      isCall: true,
      timeMs: op.invokeMs,
      match: null,
      prev: null,
      next: null,
    };
    const ret: ListEntry = {
      op: index,
      isCall: false,
      // An indeterminate op may take effect at any time after its invocation.
      timeMs: op.status === "info" ? Infinity : op.completeMs,
      match: null,
      prev: null,
      next: null,
    };
    call.match = ret;
    entries.push(call, ret);
  });
  // At equal times calls go first: the two ops count as concurrent (the permissive reading).
  entries.sort((a, b) =>
    (a.timeMs === b.timeMs ? 0 : a.timeMs - b.timeMs) || Number(b.isCall) - Number(a.isCall) ||
    a.op - b.op
  );
  const head: ListEntry = {
    op: -1,
    isCall: false,
    timeMs: -Infinity,
    match: null,
    prev: null,
    next: null,
  };
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

function lift(call: ListEntry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: ListEntry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function setBit(bits: Uint32Array, index: number, on: boolean): void {
  const mask = 1 << (index % 32);
  if (on) bits[index >> 5] |= mask;
  else bits[index >> 5] &= ~mask;
}
