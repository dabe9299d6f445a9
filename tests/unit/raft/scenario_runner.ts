/**
 * Runs Raft scenario transcripts in the style of etcd's "datadriven" tests: a text file
 * of commands, each followed by the output it must produce. The file reads like a
 * specification of one scenario; `REWRITE=1 deno test -A tests/unit/raft` rewrites the
 * expected blocks from the actual output (review the diff before committing).
 *
 * File format:
 *
 * ```
 * # Comment lines and blank lines between cases are kept as they are.
 * <command> [args...]
 * ----
 * <expected output: one or more non-blank lines ("ok" when nothing happened)>
 * <blank line or end of file>
 * ```
 *
 * The cluster is driven by hand: every command is followed by processing each live
 * node's Ready at once (persist instantly, queue its messages, apply), but messages are
 * only delivered by `deliver` / `stabilize` / `elapse`. Commands:
 *
 * - `add-nodes N [prevote=false] [checkquorum=false] [max-append=K] [catch-up=K]
 *   [bug=NAME]`: nodes 1..N, restarted from a snapshot at 1/1 that lists them all as
 *   voters (term 1); `bug` turns on one test-only `InjectedBugs` switch.
 * - `campaign ID`, `tick ID...|all [xN]`, `propose ID DATA...`, `read-index ID [xN]`,
 *   `transfer-leader ID TARGET`, `add-node ID NEW`, `remove-node ID VICTIM`.
 * - `deliver [LINK...]`: one round: step every queued message (or only those matching
 *   the links, e.g. `1->2`, `*->3`, `2->*`), then process Readies; prints what it caused.
 * - `drop [LINK...]`: discards queued messages. `cut A->B` blocks a link one way,
 *   `partition 1 | 2 3` blocks all links between the groups, `heal` unblocks all.
 *   A message sent on a blocked link is printed with "(dropped)" and never queued.
 * - `stabilize`: `deliver` until no message is queued.
 * - `elapse N`: N times: tick every live node, then stabilize; prints state changes only.
 * - `crash ID`, `restart ID` (from the durable hard state, snapshot and entries).
 * - `status [ID...]`, `log ID`.
 *
 * Output lines: `1->2 <message>` for each message sent, `n2: <role> term=T vote=V
 * leader=L` when any of those change, `n2: commit=C` when the commit index moves,
 * `n1: reads 1..3 at index I` for confirmed reads, `n1: members ...` on membership change.
 *
 * @module
 */

import {
  decodeMembershipChange,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  RaftError,
  RaftNode,
  type RaftNodeOptions,
  type ReadState,
  seededRandom,
  type SnapshotMeta,
} from "../../../src/raft/mod.ts";

// ---------------------------------------------------------------- file format

export interface ScenarioCase {
  /** 1-based line number of the command. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

type Part = { readonly text: string } | { readonly scenarioCase: ScenarioCase };

export function parseScenario(text: string): Part[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const parts: Part[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "" || line.startsWith("#")) {
      parts.push({ text: line });
      i++;
      continue;
    }
    if (lines[i + 1] !== "----") {
      throw new Error(`line ${i + 1}: command "${line}" must be followed by a "----" line`);
    }
    const expected: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j].trim() !== "") expected.push(lines[j++]);
    parts.push({ scenarioCase: { line: i + 1, command: line, expected } });
    i = j;
  }
  return parts;
}

export function renderScenario(parts: readonly Part[], outputs: readonly string[][]): string {
  const out: string[] = [];
  let k = 0;
  for (const part of parts) {
    if ("text" in part) out.push(part.text);
    else out.push(part.scenarioCase.command, "----", ...outputs[k++]);
  }
  return out.join("\n") + "\n";
}

export interface ScenarioResult {
  readonly text: string;
  readonly rewritten: string;
  readonly mismatches: readonly string[];
}

/** Runs every command of a transcript; returns mismatches and the rewritten transcript. */
export function runScenario(text: string): ScenarioResult {
  const parts = parseScenario(text);
  const env = new ScenarioEnv();
  const outputs: string[][] = [];
  const mismatches: string[] = [];
  for (const part of parts) {
    if (!("scenarioCase" in part)) continue;
    const c = part.scenarioCase;
    let actual: string[];
    try {
      actual = env.run(c.command);
    } catch (error) {
      actual = [`error: ${error instanceof Error ? error.message : String(error)}`];
    }
    if (actual.length === 0) actual = ["ok"];
    outputs.push(actual);
    if (actual.join("\n") !== c.expected.join("\n")) {
      mismatches.push(
        `line ${c.line}: ${c.command}\n--- expected\n${c.expected.join("\n")}\n--- actual\n${
          actual.join("\n")
        }`,
      );
    }
  }
  return { text, rewritten: renderScenario(parts, outputs), mismatches };
}

// ---------------------------------------------------------------- formatting

const decoder = new TextDecoder();

export function formatEntry(e: Entry): string {
  const at = `${e.index}/${e.term}`;
  switch (e.type) {
    case EntryType.Normal:
      return `${at} ${JSON.stringify(decoder.decode(e.data))}`;
    case EntryType.NoOp:
      return `${at} noop`;
    case EntryType.AddNonVoter:
      return `${at} add-learner ${decodeMembershipChange(e.data).nodeId}`;
    case EntryType.AddVoter:
      return `${at} add-voter ${decodeMembershipChange(e.data).nodeId}`;
    case EntryType.RemoveNode:
      return `${at} remove ${decodeMembershipChange(e.data).nodeId}`;
  }
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to}`;
  switch (m.type) {
    case MessageType.AppendEntries:
      return `${head} AppendEntries term=${m.term} prev=${m.prevIndex}/${m.prevTerm} entries=[${
        m.entries.map(formatEntry).join(", ")
      }] commit=${m.commit}`;
    case MessageType.AppendEntriesResponse:
      return m.success
        ? `${head} AppendResp term=${m.term} ok index=${m.index}`
        : `${head} AppendResp term=${m.term} reject index=${m.index} hint=${m.conflictIndex}/${m.conflictTerm}`;
    case MessageType.RequestVote:
      return `${head} ${
        m.preVote ? "PreVote" : "Vote"
      } term=${m.term} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? " transfer" : ""}`;
    case MessageType.RequestVoteResponse:
      return `${head} ${m.preVote ? "PreVoteResp" : "VoteResp"} term=${m.term} ${
        m.granted ? "granted" : "rejected"
      }`;
    case MessageType.Heartbeat:
      return `${head} Heartbeat term=${m.term} commit=${m.commit} read=${m.readSeq}`;
    case MessageType.HeartbeatResponse:
      return `${head} HeartbeatResp term=${m.term} read=${m.readSeq} last=${m.lastIndex}`;
    case MessageType.TimeoutNow:
      return `${head} TimeoutNow term=${m.term}`;
    case MessageType.InstallSnapshot:
      return `${head} Snapshot term=${m.term} snap=${m.meta.index}/${m.meta.term} bytes=${m.offsetBytes}+${m.lengthBytes}/${m.meta.sizeBytes}${
        m.last ? " last" : ""
      }`;
    case MessageType.InstallSnapshotResponse:
      return `${head} SnapshotResp term=${m.term} snap=${m.snapshotIndex} next=${m.nextOffsetBytes}${
        m.rejected ? " rejected" : ""
      }${m.done ? " done" : ""}`;
  }
}

/** Groups consecutive request ids confirmed at the same index: "reads 1..3 at index 7". */
function formatReads(id: NodeId, reads: readonly ReadState[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < reads.length) {
    let j = i;
    while (
      j + 1 < reads.length && reads[j + 1].index === reads[i].index &&
      reads[j + 1].requestId === reads[j].requestId + 1
    ) j++;
    const ids = i === j
      ? `read ${reads[i].requestId}`
      : `reads ${reads[i].requestId}..${reads[j].requestId}`;
    out.push(`n${id}: ${ids} at index ${reads[i].index}`);
    i = j + 1;
  }
  return out;
}

// ---------------------------------------------------------------- the cluster

interface Durable {
  hardState: HardState;
  snapshot?: SnapshotMeta;
  entries: Entry[];
}

class ScenarioNode {
  raft: RaftNode | undefined;
  readonly durable: Durable;
  /** Last printed role/term/vote/leader and commit. */
  shown = "";
  shownCommit = 0;

  constructor(readonly id: NodeId, readonly options: RaftNodeOptions, durable: Durable) {
    this.durable = durable;
    this.raft = new RaftNode(options, durable);
  }
}

function parseArgs(command: string): string[] {
  const out: string[] = [];
  for (const match of command.matchAll(/"([^"]*)"|(\S+)/g)) out.push(match[1] ?? match[2]);
  return out;
}

function parseId(arg: string | undefined): NodeId {
  const id = Number(arg);
  if (!Number.isInteger(id) || id <= 0) throw new Error(`not a node id: ${arg}`);
  return id;
}

/** Splits `xN` off the arguments (repeat count). */
function repeatCount(args: string[]): [string[], number] {
  const last = args.at(-1);
  if (last !== undefined && /^x\d+$/.test(last)) return [args.slice(0, -1), Number(last.slice(1))];
  return [args, 1];
}

function linkMatcher(patterns: readonly string[]): (m: Message) => boolean {
  if (patterns.length === 0) return () => true;
  const links = patterns.map((p) => {
    const match = /^(\*|\d+)->(\*|\d+)$/.exec(p);
    if (match === null) throw new Error(`not a link: ${p} (want A->B, *->B or A->*)`);
    return [match[1], match[2]];
  });
  return (m) =>
    links.some(([from, to]) =>
      (from === "*" || Number(from) === m.from) && (to === "*" || Number(to) === m.to)
    );
}

export class ScenarioEnv {
  readonly nodes = new Map<NodeId, ScenarioNode>();
  queue: Message[] = [];
  private readonly blocked = new Set<string>();
  private nextRequestId = 1;
  private options: Partial<RaftNodeOptions> = {};

  run(command: string): string[] {
    const [name, ...args] = parseArgs(command);
    const out: string[] = [];
    switch (name) {
      case "add-nodes":
        this.addNodes(args, out);
        break;
      case "campaign":
        this.raftOf(parseId(args[0]), (raft) => raft.campaign(), out);
        break;
      case "tick": {
        const [targets, times] = repeatCount(args);
        const ids = targets.length === 0 || targets[0] === "all"
          ? [...this.nodes.keys()]
          : targets.map(parseId);
        for (let i = 0; i < times; i++) {
          for (const id of ids) this.nodes.get(id)?.raft?.tick();
          this.processReadies(out, true);
        }
        return out;
      }
      case "propose":
        for (const data of args.slice(1)) {
          const id = parseId(args[0]);
          this.raftOf(id, (raft) => {
            const result = raft.propose(new TextEncoder().encode(data));
            if (result instanceof RaftError) return result;
            out.push(`n${id}: proposed ${result.index}/${result.term}`);
            return undefined;
          }, out);
        }
        break;
      case "read-index": {
        const [targets, times] = repeatCount(args);
        for (let i = 0; i < times; i++) {
          this.raftOf(parseId(targets[0]), (raft) => raft.readIndex(this.nextRequestId++), out);
        }
        break;
      }
      case "transfer-leader":
        this.raftOf(parseId(args[0]), (raft) => raft.transferLeader(parseId(args[1])), out);
        break;
      case "add-node": {
        const id = parseId(args[0]);
        const newId = parseId(args[1]);
        this.raftOf(id, (raft) => {
          const result = raft.addNode(newId, `n${newId}`);
          if (result instanceof RaftError) return result;
          out.push(`n${id}: add-learner ${newId} at ${result.index}/${result.term}`);
          this.createNode(newId, undefined);
          return undefined;
        }, out);
        break;
      }
      case "remove-node": {
        const id = parseId(args[0]);
        this.raftOf(id, (raft) => {
          const result = raft.removeNode(parseId(args[1]));
          if (result instanceof RaftError) return result;
          out.push(`n${id}: remove ${args[1]} at ${result.index}/${result.term}`);
          return undefined;
        }, out);
        break;
      }
      case "deliver":
        this.deliver(linkMatcher(args), out, true);
        return out;
      case "drop": {
        const match = linkMatcher(args);
        const kept: Message[] = [];
        for (const m of this.queue) {
          if (match(m)) out.push(`dropped: ${formatMessage(m)}`);
          else kept.push(m);
        }
        this.queue = kept;
        return out;
      }
      case "cut":
        for (const link of args) {
          const match = /^(\d+)->(\d+)$/.exec(link);
          if (match === null) throw new Error(`not a link: ${link}`);
          this.blocked.add(`${match[1]}>${match[2]}`);
        }
        this.dropBlocked(out);
        return out;
      case "partition": {
        const groups: NodeId[][] = [[]];
        for (const arg of args) {
          if (arg === "|") groups.push([]);
          else groups.at(-1)!.push(parseId(arg));
        }
        for (const a of groups) {
          for (const b of groups) {
            if (a === b) continue;
            for (const x of a) for (const y of b) this.blocked.add(`${x}>${y}`);
          }
        }
        this.dropBlocked(out);
        return out;
      }
      case "heal":
        this.blocked.clear();
        return out;
      case "stabilize":
        this.stabilize(out, true);
        return out;
      case "elapse": {
        const times = Number(args[0] ?? 1);
        for (let i = 0; i < times; i++) {
          for (const node of this.nodes.values()) node.raft?.tick();
          this.processReadies(out, false);
          this.stabilize(out, false);
        }
        return out;
      }
      case "crash": {
        const node = this.node(parseId(args[0]));
        node.raft = undefined;
        node.shown = "";
        out.push(`n${node.id}: crashed`);
        return out;
      }
      case "restart": {
        const node = this.node(parseId(args[0]));
        if (node.raft !== undefined) throw new Error(`n${node.id} is running`);
        node.raft = new RaftNode(node.options, node.durable);
        node.shownCommit = 0;
        out.push(`n${node.id}: restarted`);
        break;
      }
      case "status":
        for (const id of args.length > 0 ? args.map(parseId) : [...this.nodes.keys()]) {
          out.push(this.statusLine(this.node(id)));
        }
        return out;
      case "log":
        return this.logLines(this.node(parseId(args[0])));
      default:
        throw new Error(`unknown command ${name}`);
    }
    this.processReadies(out, true);
    return out;
  }

  private node(id: NodeId): ScenarioNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private raftOf(
    id: NodeId,
    action: (raft: RaftNode) => RaftError | undefined | void,
    out: string[],
  ): void {
    const raft = this.node(id).raft;
    if (raft === undefined) throw new Error(`n${id} is down`);
    const result = action(raft);
    if (result instanceof RaftError) out.push(`n${id}: error ${result.code}`);
  }

  private addNodes(args: readonly string[], out: string[]): void {
    const count = Number(args[0]);
    const options: Record<string, unknown> = {};
    for (const arg of args.slice(1)) {
      const [key, value] = arg.split("=");
      const known: Record<string, [string, (v: string) => unknown]> = {
        prevote: ["preVote", (v) => v === "true"],
        checkquorum: ["checkQuorum", (v) => v === "true"],
        "max-append": ["maxAppendEntriesCount", Number],
        "catch-up": ["learnerCatchUpEntries", Number],
        bug: ["injectedBugs", (v) => ({ [v]: true })],
      };
      const option = known[key];
      if (option === undefined) throw new Error(`unknown option ${key}`);
      options[option[0]] = option[1](value);
    }
    this.options = options as Partial<RaftNodeOptions>;
    const first = this.nodes.size + 1;
    const ids = Array.from({ length: count }, (_, i) => first + i);
    const snapshot: SnapshotMeta = {
      index: 1,
      term: 1,
      membership: {
        members: ids.map((id) => ({ id, addr: `n${id}`, voter: true })),
        usedNodeIds: ids,
      },
      sizeBytes: 1,
    };
    for (const id of ids) this.createNode(id, snapshot);
    for (const id of ids) out.push(this.statusLine(this.node(id)));
  }

  private createNode(id: NodeId, snapshot: SnapshotMeta | undefined): void {
    const options: RaftNodeOptions = {
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.options,
      id,
      random: seededRandom(id),
    };
    const durable: Durable = snapshot === undefined
      ? { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] }
      : { hardState: { term: 1, vote: 0, commit: 1 }, snapshot, entries: [] };
    const node = new ScenarioNode(id, options, durable);
    if (snapshot === undefined) node.raft = new RaftNode(options); // a joining node: empty
    node.shown = this.stateLine(node);
    node.shownCommit = node.raft!.status().commitIndex;
    this.nodes.set(id, node);
  }

  private stateLine(node: ScenarioNode): string {
    const s = node.raft!.status();
    return `n${node.id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leaderId}`;
  }

  private statusLine(node: ScenarioNode): string {
    if (node.raft === undefined) return `n${node.id}: down`;
    const s = node.raft.status();
    const members = s.membership.members.map((m) => m.voter ? `${m.id}` : `${m.id}(learner)`);
    return `${this.stateLine(node)} commit=${s.commitIndex} last=${s.lastIndex} members=${
      members.join(",")
    }`;
  }

  private logLines(node: ScenarioNode): string[] {
    const out: string[] = [];
    const snap = node.durable.snapshot;
    if (snap !== undefined) out.push(`snapshot ${snap.index}/${snap.term}`);
    const entries = node.durable.entries;
    let i = 0;
    while (i < entries.length) {
      // Runs of five or more Normal entries of one term are shown as a range.
      let j = i;
      while (
        j + 1 < entries.length && entries[j + 1].term === entries[i].term &&
        entries[j + 1].type === EntryType.Normal && entries[i].type === EntryType.Normal
      ) j++;
      if (j - i >= 4) {
        out.push(
          `${entries[i].index}..${entries[j].index}/${entries[i].term} (${j - i + 1} entries)`,
        );
        i = j + 1;
      } else {
        out.push(formatEntry(entries[i++]));
      }
    }
    const commit = node.raft?.status().commitIndex ?? node.durable.hardState.commit;
    out.push(`commit=${commit}`);
    return out;
  }

  /** Takes and handles every Ready (instant persistence), in node id order. */
  private processReadies(out: string[], showMessages: boolean): void {
    for (const node of this.nodes.values()) {
      const raft = node.raft;
      if (raft === undefined) continue;
      while (raft.hasReady()) {
        const rd = raft.ready();
        if (rd.snapshot !== undefined) {
          node.durable.snapshot = rd.snapshot;
          node.durable.entries = [];
        }
        if (rd.entries.length > 0) {
          const kept = node.durable.entries.filter((e) => e.index < rd.entries[0].index);
          node.durable.entries = [...kept, ...rd.entries];
        }
        if (rd.hardState !== undefined) node.durable.hardState = rd.hardState;
        const state = this.stateLine(node);
        if (state !== node.shown) {
          out.push(state);
          node.shown = state;
        }
        const commit = raft.status().commitIndex;
        if (commit !== node.shownCommit) {
          out.push(`n${node.id}: commit=${commit}`);
          node.shownCommit = commit;
        }
        if (rd.membership !== undefined) {
          const members = rd.membership.members.map((m) =>
            m.voter ? `${m.id}` : `${m.id}(learner)`
          );
          out.push(`n${node.id}: members=${members.join(",")}`);
        }
        for (const m of [...rd.messages, ...rd.messagesAfterPersist]) {
          const blocked = this.blocked.has(`${m.from}>${m.to}`);
          if (showMessages) out.push(formatMessage(m) + (blocked ? " (dropped)" : ""));
          if (!blocked) this.queue.push(m);
        }
        out.push(...formatReads(node.id, rd.readStates));
        for (const f of rd.failedReads) {
          out.push(`n${node.id}: read ${f.requestId} failed: ${f.reason}`);
        }
        raft.advance(rd);
      }
    }
  }

  private dropBlocked(out: string[]): void {
    const kept: Message[] = [];
    for (const m of this.queue) {
      if (this.blocked.has(`${m.from}>${m.to}`)) out.push(`dropped: ${formatMessage(m)}`);
      else kept.push(m);
    }
    this.queue = kept;
  }

  private deliver(match: (m: Message) => boolean, out: string[], showMessages: boolean): void {
    const now = this.queue;
    this.queue = [];
    for (const m of now) {
      if (!match(m)) {
        this.queue.push(m);
        continue;
      }
      const raft = this.nodes.get(m.to)?.raft;
      if (raft === undefined) {
        if (showMessages) out.push(`dropped: ${formatMessage(m)} (n${m.to} down)`);
        continue;
      }
      raft.step(m);
    }
    this.processReadies(out, showMessages);
  }

  private stabilize(out: string[], showMessages: boolean): void {
    for (let round = 0; this.queue.length > 0; round++) {
      if (round >= 200) throw new Error("did not stabilize within 200 rounds");
      this.deliver(() => true, out, showMessages);
    }
  }
}
