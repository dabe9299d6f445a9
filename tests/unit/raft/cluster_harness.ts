/**
 * A tiny in-memory cluster for unit tests: instant persistence (Ready is advanced at
 * once), a message queue the test controls, and links that can be cut.
 *
 * @module
 */

import {
  type Entry,
  type Message,
  type NodeId,
  type PersistedState,
  RaftNode,
  type RaftNodeOptions,
  type ReadState,
  seededRandom,
} from "../../../src/raft/mod.ts";

export class TestCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every message sent, for assertions. */
  readonly sent: Message[] = [];
  queue: Message[] = [];
  private readonly isolated = new Set<NodeId>();
  private readonly options: Partial<RaftNodeOptions>;

  constructor(options: Partial<RaftNodeOptions> = {}) {
    this.options = options;
  }

  add(id: NodeId, persisted?: PersistedState, options: Partial<RaftNodeOptions> = {}): RaftNode {
    const node = new RaftNode(
      { electionTicks: 10, ...this.options, ...options, id, random: seededRandom(id) },
      persisted,
    );
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    return node;
  }

  node(id: NodeId): RaftNode {
    return this.nodes.get(id)!;
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  heal(): void {
    this.isolated.clear();
  }

  /** Processes every Ready (persist at once), queueing messages. */
  flushReadies(): void {
    for (const [id, node] of this.nodes) {
      while (node.hasReady()) {
        const rd = node.ready();
        for (const m of [...rd.messages, ...rd.messagesAfterPersist]) {
          this.sent.push(m);
          if (!this.isolated.has(m.from) && !this.isolated.has(m.to)) this.queue.push(m);
        }
        this.applied.get(id)!.push(...rd.committedEntries);
        this.readStates.get(id)!.push(...rd.readStates);
        node.advance(rd);
      }
    }
  }

  /** Delivers queued messages (optionally only those matching `filter`), once. */
  deliver(filter: (m: Message) => boolean = () => true): void {
    const now = this.queue;
    this.queue = [];
    for (const m of now) {
      if (!filter(m)) {
        this.queue.push(m);
        continue;
      }
      this.nodes.get(m.to)?.step(m);
    }
  }

  /** Runs Ready/deliver rounds until nothing moves. */
  settle(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.flushReadies();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error("cluster did not settle");
  }

  tick(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.settle();
    }
  }

  leaders(): NodeId[] {
    return [...this.nodes].filter(([, n]) => n.status().role === "leader").map(([id]) => id);
  }

  /** INIT on node 1, then join nodes 2..n one at a time (each promoted to voter). */
  static formed(n: number, options: Partial<RaftNodeOptions> = {}): TestCluster {
    const cluster = new TestCluster(options);
    cluster.add(1).bootstrap("n1");
    cluster.settle();
    for (let id = 2; id <= n; id++) {
      cluster.add(id);
      const result = cluster.node(1).addNode(id, `n${id}`);
      if (!("index" in result)) throw result;
      for (let i = 0; i < 30; i++) {
        cluster.tick();
        const member = cluster.node(1).membership().members.find((m) => m.id === id);
        if (
          member?.voter &&
          cluster.node(1).status().commitIndex === cluster.node(1).status().lastIndex
        ) {
          break;
        }
      }
    }
    return cluster;
  }
}
