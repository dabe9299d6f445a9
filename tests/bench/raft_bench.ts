/**
 * Raft core throughput: a 3-node cluster of real cores with an instant in-memory
 * network and no disk; the leader proposes 100-byte entries in batches and the
 * benchmark counts entries committed and applied on the leader per second.
 * Run: `deno run tests/bench/raft_bench.ts [--seconds S] [--batch N] [--bytes B]`.
 *
 * @module
 */

import { parseCommandLine } from "../../scripts/command_line.ts";
import { type Message, RaftNode, seededRandom } from "../../src/raft/mod.ts";

const commandLine = parseCommandLine("usage: raft_bench.ts [--seconds n] [--batch n] [--bytes n]", {
  seconds: { type: "string", default: "3" },
  batch: { type: "string", default: "4096" },
  bytes: { type: "string", default: "100" },
});
const seconds = commandLine.integer("seconds", 1, 3600);
const batchCount = commandLine.integer("batch", 1, 1_000_000);
const entryBytes = commandLine.integer("bytes", 0, 16 * 1024 * 1024);

const nodes = new Map<number, RaftNode>();
for (let id = 1; id <= 3; id++) {
  nodes.set(
    id,
    new RaftNode({
      id,
      random: seededRandom(id),
      maxAppendEntriesCount: 8192,
      maxAppendEntriesBytes: 4 * 1024 * 1024,
      maxInflightAppendsCount: 8,
    }),
  );
}
const leader = nodes.get(1)!;
leader.bootstrap("n1");

let applied = 0;
const queue: Message[] = [];

/** Runs every node's Ready loop until the cluster is quiet. */
function settle(): void {
  for (;;) {
    let progressed = false;
    for (const node of nodes.values()) {
      if (!node.hasReady()) continue;
      progressed = true;
      const rd = node.ready();
      for (const m of rd.messages) queue.push(m);
      for (const m of rd.messagesAfterPersist) queue.push(m);
      if (node === leader) applied += rd.committedEntries.length;
      node.advance(rd);
    }
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      for (const m of batch) nodes.get(m.to)!.step(m);
      progressed = true;
    }
    if (!progressed) return;
  }
}

settle();
for (const id of [2, 3]) {
  leader.addNode(id, `n${id}`);
  for (let i = 0; i < 20; i++) {
    for (const node of nodes.values()) node.tick();
    settle();
  }
}
const voters = leader.membership().members.filter((m) => m.voter).length;
if (voters !== 3) throw new Error(`cluster did not form: ${voters} voters`);

const payload = new Uint8Array(entryBytes).fill(7);
const datas: Uint8Array[] = new Array(batchCount).fill(payload);
applied = 0;
const started = performance.now();
let rounds = 0;
while (performance.now() - started < seconds * 1000) {
  const result = leader.proposeBatch(datas);
  if (!("index" in result)) throw result;
  settle();
  if (++rounds % 16 === 0) {
    // Keep memory bounded, as a real node would with snapshots.
    for (const node of nodes.values()) {
      const status = node.status();
      if (status.appliedIndex > status.snapshotIndex) node.compact(status.appliedIndex, 1);
    }
  }
}
const elapsedSeconds = (performance.now() - started) / 1000;
console.log(
  `raft core, 3 nodes, ${entryBytes}-byte entries, batches of ${batchCount}: ${
    Math.round(applied / elapsedSeconds).toLocaleString("en-US")
  } entries/s committed (${applied} in ${elapsedSeconds.toFixed(2)}s)`,
);
