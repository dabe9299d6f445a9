/**
 * @module
 * Checks a queue history: `enqueue` ops push unique values (LPUSH), `dequeue` ops pop from the
 * other end of one or more keys (output: what they took, or null for nothing), and a final
 * `read` per key lists what is left (newest first). Anomalies:
 * - `unknown-element`: taken or left a value no enqueue that could have run pushed onto that key;
 * - `duplicate-element`: a value taken twice, taken and still queued, or queued twice;
 * - `dequeued-before-enqueued`: a pop that completed before the push of its value began;
 * - `lost-element`: more acknowledged values neither taken nor left than the indeterminate pops
 *   of that key could have taken;
 * - `fifo-violation`: a value pushed after another was acknowledged left the queue before it
 *   (taken earlier in real time, taken while the older one stayed, or ahead of it in the rest);
 * - `missed-element`: a pop that took nothing while an acknowledged value sat in its key for the
 *   whole time the pop ran.
 * Every check is O(n log n) in the number of operations.
 */
import type { Operation } from "../history.ts";
import { type Presence, presentThroughout } from "./realtime.ts";
import { Reporter } from "./reporter.ts";
import { type Verdict, verdictOf } from "./verdict.ts";

/** What an ok dequeue took: the key and its values in the order they were popped. */
export interface Dequeued {
  key: string;
  values: string[];
}

interface Take {
  op: Operation;
  /** Position among the values the op popped (0: the first). */
  at: number;
}

export function checkQueue(ops: Operation[]): Verdict {
  const reporter = new Reporter();
  const enqueues = new Map<string, Operation>();
  for (const op of ops) if (op.f === "enqueue") enqueues.set(String(op.input), op);
  const takes = new Map<string, Take[]>();
  const dequeues = ops.filter((op) => op.f === "dequeue");
  for (const op of dequeues) {
    if (op.status !== "ok" || !op.output) continue;
    (op.output as Dequeued).values.forEach((value, at) => {
      const list = takes.get(value) ?? [];
      list.push({ op, at });
      takes.set(value, list);
    });
  }
  const finals = new Map<string, Operation>();
  for (const op of ops) {
    if (op.f === "read" && op.input === "final" && op.status === "ok") finals.set(op.key, op);
  }
  checkValues(enqueues, takes, finals, reporter);
  const keys = new Set<string>();
  for (const op of ops) for (const key of op.key.split(" ")) keys.add(key);
  for (const key of [...keys].sort()) {
    checkKey(key, { enqueues, takes, dequeues, final: finals.get(key) }, reporter);
  }
  return verdictOf("queue", reporter.anomalies, {
    keys: keys.size,
    enqueues: enqueues.size,
    taken: takes.size,
    left: [...finals.values()].reduce((n, op) => n + (op.output as string[]).length, 0),
    emptyPops: dequeues.filter((op) => op.status === "ok" && op.output === null).length,
  });
}

/** Every taken or left value was pushed (by a push that may have run, onto that key) once. */
function checkValues(
  enqueues: Map<string, Operation>,
  takes: Map<string, Take[]>,
  finals: Map<string, Operation>,
  reporter: Reporter,
): void {
  const leftAt = new Map<string, Operation>();
  const checkOrigin = (value: string, key: string, seenIn: Operation) => {
    const pushed = enqueues.get(value);
    if (!pushed || pushed.status === "fail" || pushed.key !== key) {
      const origin = pushed ? `${pushed.status} push onto ${pushed.key}` : "no push";
      reporter.report("unknown-element", key, `${value} in ${key} came from ${origin}`, [
        ...(pushed ? [pushed] : []),
        seenIn,
      ]);
      return undefined;
    }
    return pushed;
  };
  for (const [value, list] of takes) {
    const key = (list[0].op.output as Dequeued).key;
    const pushed = checkOrigin(value, key, list[0].op);
    if (list.length > 1) {
      reporter.report("duplicate-element", key, `${value} was taken ${list.length} times`, [
        ...list.map((take) => take.op),
      ]);
    }
    for (const take of list) {
      if (pushed && take.op.completeMs < pushed.invokeMs) {
        reporter.report(
          "dequeued-before-enqueued",
          key,
          `${value} was taken before its push began`,
          [pushed, take.op],
        );
      }
    }
  }
  for (const [key, final] of finals) {
    for (const value of final.output as string[]) {
      checkOrigin(value, key, final);
      const taken = takes.get(value);
      if (taken || leftAt.has(value)) {
        reporter.report("duplicate-element", key, `${value} is still queued but was taken`, [
          ...(taken ?? []).map((take) => take.op),
          final,
        ]);
      }
      leftAt.set(value, final);
    }
  }
}

interface KeyHistory {
  enqueues: Map<string, Operation>;
  takes: Map<string, Take[]>;
  dequeues: Operation[];
  final: Operation | undefined;
}

function checkKey(key: string, h: KeyHistory, reporter: Reporter): void {
  const pushes = [...h.enqueues.values()].filter((op) => op.key === key && op.status !== "fail");
  const left = h.final ? (h.final.output as string[]) : undefined;
  const leftSet = new Set(left ?? []);
  const pops = h.dequeues.filter((op) => op.key.split(" ").includes(key));
  const pushOf = (value: string) => {
    const op = h.enqueues.get(value);
    return op && op.key === key && op.status !== "fail" ? op : undefined;
  };
  const takeOf = (value: string) => {
    const take = h.takes.get(value)?.[0];
    return take && (take.op.output as Dequeued).key === key ? take : undefined;
  };

  if (left) {
    const missing = pushes.filter((op) =>
      op.status === "ok" && !leftSet.has(String(op.input)) && !takeOf(String(op.input))
    );
    const allowance = pops.filter((op) => op.status === "info")
      .reduce((n, op) => n + popCapacity(String(op.input)), 0);
    if (missing.length > allowance) {
      reporter.report(
        "lost-element",
        key,
        `${missing.length} acknowledged values of ${key} were neither taken nor left, and ` +
          `indeterminate pops could have taken at most ${allowance}`,
        missing.slice(0, 5),
      );
    }
  }
  checkTakeOrder(key, pushes, pushOf, takeOf, reporter);
  if (left) checkLeftOrder(key, pushes, left, pushOf, takeOf, reporter);
  checkEmptyPops(key, pushes, pops, leftSet, left !== undefined, takeOf, reporter);
}

/** How many values an indeterminate pop could have taken. */
function popCapacity(command: string): number {
  const words = command.split(" ");
  return words[0] === "BLMPOP" ? Number(words.at(-1)) : 1;
}

/**
 * Of two taken values, the one pushed after the other's push was acknowledged is not taken
 * earlier: neither by a pop that completed before the older one's pop began, nor ahead of it
 * in one pop.
 */
function checkTakeOrder(
  key: string,
  pushes: Operation[],
  pushOf: (value: string) => Operation | undefined,
  takeOf: (value: string) => Take | undefined,
  reporter: Reporter,
): void {
  const taken = pushes.filter((op) => takeOf(String(op.input)))
    .sort((a, b) => a.invokeMs - b.invokeMs);
  // suffixEarliest[i]: among taken[i..], the take whose pop completed first.
  const suffixEarliest: Operation[] = new Array(taken.length);
  for (let i = taken.length - 1; i >= 0; i--) {
    const here = taken[i];
    const next = suffixEarliest[i + 1];
    suffixEarliest[i] = next && popOf(next, takeOf).completeMs < popOf(here, takeOf).completeMs
      ? next
      : here;
  }
  for (const older of taken) {
    if (older.status !== "ok") continue;
    const first = firstInvokedAfter(taken, older.completeMs);
    if (first >= taken.length) continue;
    const newer = suffixEarliest[first];
    if (popOf(newer, takeOf).completeMs < popOf(older, takeOf).invokeMs) {
      reporter.report(
        "fifo-violation",
        key,
        `${newer.input} was taken before ${older.input}, pushed after it`,
        [older, newer, popOf(older, takeOf), popOf(newer, takeOf)],
      );
    }
  }
  for (const push of taken) {
    const take = takeOf(String(push.input))!;
    if (take.at === 0) continue;
    const values = (take.op.output as Dequeued).values;
    for (const before of values.slice(0, take.at)) {
      const beforePush = pushOf(before);
      if (push.status === "ok" && beforePush && push.completeMs < beforePush.invokeMs) {
        reporter.report(
          "fifo-violation",
          key,
          `one pop took ${before} ahead of ${push.input}, pushed after it`,
          [push, beforePush, take.op],
        );
      }
    }
  }
}

/**
 * What is left keeps push order, and nothing pushed after an acknowledged value that is still
 * left was taken.
 */
function checkLeftOrder(
  key: string,
  pushes: Operation[],
  left: string[],
  pushOf: (value: string) => Operation | undefined,
  takeOf: (value: string) => Take | undefined,
  reporter: Reporter,
): void {
  let oldestLeft: Operation | undefined;
  for (const value of left) {
    const push = pushOf(value);
    if (push?.status === "ok" && (!oldestLeft || push.completeMs < oldestLeft.completeMs)) {
      oldestLeft = push;
    }
  }
  if (oldestLeft) {
    for (const push of pushes) {
      const take = takeOf(String(push.input));
      if (take && push.invokeMs > oldestLeft.completeMs) {
        reporter.report(
          "fifo-violation",
          key,
          `${push.input} was taken while ${oldestLeft.input}, pushed before it, is still left`,
          [oldestLeft, push, take.op],
        );
      }
    }
  }
  // `left` is newest first: no value may stand ahead of one whose push began after it completed.
  let earliestAhead: Operation | undefined;
  for (const value of left) {
    const push = pushOf(value);
    if (!push) continue;
    if (earliestAhead && earliestAhead.completeMs < push.invokeMs) {
      reporter.report(
        "fifo-violation",
        key,
        `${earliestAhead.input} stands nearer the head than ${push.input}, pushed after it`,
        [earliestAhead, push],
      );
    }
    if (push.status === "ok" && (!earliestAhead || push.completeMs < earliestAhead.completeMs)) {
      earliestAhead = push;
    }
  }
}

/**
 * A pop that took nothing may not have run while an acknowledged value sat in the key: from
 * its push's acknowledgement until the pop that took it began (or for good, if still left).
 */
function checkEmptyPops(
  key: string,
  pushes: Operation[],
  pops: Operation[],
  leftSet: Set<string>,
  haveFinal: boolean,
  takeOf: (value: string) => Take | undefined,
  reporter: Reporter,
): void {
  const present: Presence[] = [];
  for (const push of pushes) {
    if (push.status !== "ok") continue;
    const value = String(push.input);
    const take = takeOf(value);
    if (take) present.push({ op: push, untilMs: take.op.invokeMs });
    else if (haveFinal && leftSet.has(value)) present.push({ op: push, untilMs: Infinity });
  }
  const presentDuring = presentThroughout(present);
  for (const pop of pops) {
    if (pop.status !== "ok" || pop.output !== null) continue;
    const sat = presentDuring(pop);
    if (sat) {
      reporter.report(
        "missed-element",
        key,
        `a pop took nothing while ${sat.op.input} was in ${key}`,
        [sat.op, pop],
      );
    }
  }
}

function popOf(push: Operation, takeOf: (value: string) => Take | undefined): Operation {
  return takeOf(String(push.input))!.op;
}

/** Index of the first of `sorted` (by invokeMs) invoked after `ms`. */
function firstInvokedAfter(sorted: Operation[], ms: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].invokeMs <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
