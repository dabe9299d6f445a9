/**
 * @module
 * The recorded history of a chaos run: every client operation as an invocation and a completion
 * (`ok`, `fail` = definitely not executed, `info` = indeterminate: it may or may not have taken
 * effect), timed with the monotonic clock (`performance.now()`), plus nemesis events. Checkers
 * read the paired form (`Operation`); the JSONL file holds the raw events in order.
 */

export type OpStatus = "ok" | "fail" | "info";

/** One client operation, invocation and completion paired. */
export interface Operation {
  id: number;
  client: number;
  /** Operation kind, workload-specific: read, write, cas, append, incr, ... */
  f: string;
  key: string;
  /** What the client asked for (value written, [expected, new] for cas, ...). */
  input: unknown;
  /** What it observed (value read, list returned, ...); undefined unless ok. */
  output?: unknown;
  status: OpStatus;
  /** The reply or error that decided the status, for humans. */
  detail?: string;
  invokeMs: number;
  /** Infinity while pending; an `info` op keeps its real completion time here. */
  completeMs: number;
}

export type HistoryEvent =
  | {
    type: "invoke";
    id: number;
    client: number;
    f: string;
    key: string;
    input: unknown;
    timeMs: number;
  }
  | {
    type: OpStatus;
    id: number;
    client: number;
    f: string;
    key: string;
    output?: unknown;
    detail?: string;
    timeMs: number;
  }
  | {
    type: "nemesis";
    name: string;
    phase: "start" | "stop" | "note";
    detail: string;
    timeMs: number;
  };

/** Collects events in memory (bounded by the run's op count) and optionally streams JSONL. */
export class History {
  readonly events: HistoryEvent[] = [];
  private readonly ops = new Map<number, Operation>();
  private nextId = 0;
  private readonly encoder = new TextEncoder();

  constructor(private readonly sink?: Deno.FsFile, private readonly startMs = performance.now()) {}

  now(): number {
    return performance.now() - this.startMs;
  }

  invoke(client: number, f: string, key: string, input: unknown): Operation {
    const op: Operation = {
      id: this.nextId++,
      client,
      f,
      key,
      input,
      status: "info",
      invokeMs: this.now(),
      completeMs: Infinity,
    };
    this.ops.set(op.id, op);
    this.append({ type: "invoke", id: op.id, client, f, key, input, timeMs: op.invokeMs });
    return op;
  }

  complete(op: Operation, status: OpStatus, output?: unknown, detail?: string): void {
    if (op.completeMs !== Infinity) throw new Error(`operation ${op.id} completed twice`);
    op.status = status;
    op.output = output;
    op.detail = detail;
    op.completeMs = this.now();
    this.append({
      type: status,
      id: op.id,
      client: op.client,
      f: op.f,
      key: op.key,
      output,
      detail,
      timeMs: op.completeMs,
    });
  }

  nemesis(name: string, phase: "start" | "stop" | "note", detail: string): void {
    this.append({ type: "nemesis", name, phase, detail, timeMs: this.now() });
  }

  operations(): Operation[] {
    return [...this.ops.values()];
  }

  private append(event: HistoryEvent): void {
    this.events.push(event);
    this.sink?.writeSync(this.encoder.encode(JSON.stringify(event) + "\n"));
  }
}

/** Pair raw events (e.g. read back from a JSONL file) into operations; unfinished ops are info. */
export function operationsFromEvents(events: HistoryEvent[]): Operation[] {
  const ops = new Map<number, Operation>();
  for (const event of events) {
    if (event.type === "nemesis") continue;
    if (event.type === "invoke") {
      ops.set(event.id, {
        id: event.id,
        client: event.client,
        f: event.f,
        key: event.key,
        input: event.input,
        status: "info",
        invokeMs: event.timeMs,
        completeMs: Infinity,
      });
      continue;
    }
    const op = ops.get(event.id);
    if (!op) throw new Error(`completion of unknown operation ${event.id}`);
    op.status = event.type;
    op.output = event.output;
    op.detail = event.detail;
    op.completeMs = event.timeMs;
  }
  return [...ops.values()];
}

/** A compact one-line rendering of an operation for failure reports. */
export function formatOp(op: Operation): string {
  const end = op.completeMs === Infinity ? "∞" : op.completeMs.toFixed(1);
  const out = op.status === "ok"
    ? ` → ${shortened(JSON.stringify(op.output))}`
    : ` (${op.detail ?? op.status})`;
  return `#${op.id} c${op.client} [${
    op.invokeMs.toFixed(1)
  }, ${end}] ${op.status} ${op.f} ${op.key} ${JSON.stringify(op.input)}${out}`;
}

/** Outputs shown in reports stop here (a final read can list every entry); the history has all. */
const shownOutputCharsMax = 600;

function shortened(text: string | undefined): string | undefined {
  if (text === undefined || text.length <= shownOutputCharsMax) return text;
  return `${text.slice(0, shownOutputCharsMax)}… (${text.length} characters)`;
}
