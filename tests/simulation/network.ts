/**
 * Simulated network: delays, drops, duplicates and reorders messages, and cuts
 * links (symmetric or one-way partitions). Time is in simulation units.
 *
 * @module
 */

import type { Message, NodeId } from "../../src/raft/mod.ts";

/** A message in flight, plus the snapshot bytes a real transport would attach. */
export interface Envelope {
  readonly message: Message;
  readonly payload?: Uint8Array;
}

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  maxDelayUnits: number;
}

const windowUnits = 64;

export class Network {
  private readonly buckets: Envelope[][] = Array.from({ length: windowUnits }, () => []);
  /** Blocked directed links, as "from>to". */
  private readonly blocked = new Set<string>();
  inFlightCount = 0;
  faults: NetworkFaults = { dropRate: 0, duplicateRate: 0, maxDelayUnits: 4 };

  constructor(private readonly random: () => number) {}

  send(now: number, envelope: Envelope): void {
    const { from, to } = envelope.message;
    if (this.blocked.has(`${from}>${to}`)) return;
    if (this.faults.dropRate > 0 && this.random() < this.faults.dropRate) return;
    this.enqueue(now, envelope);
    if (this.faults.duplicateRate > 0 && this.random() < this.faults.duplicateRate) {
      this.enqueue(now, envelope);
    }
  }

  private enqueue(now: number, envelope: Envelope): void {
    const delay = 1 + Math.floor(this.random() * this.faults.maxDelayUnits);
    this.buckets[(now + delay) % windowUnits].push(envelope);
    this.inFlightCount++;
  }

  /** Messages due at `now`, in a shuffled order; links cut meanwhile drop them. */
  deliverDue(now: number): Envelope[] {
    const slot = now % windowUnits;
    const due = this.buckets[slot];
    if (due.length === 0) return due;
    this.buckets[slot] = [];
    this.inFlightCount -= due.length;
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = due[i];
      due[i] = due[j];
      due[j] = t;
    }
    if (this.blocked.size === 0) return due;
    return due.filter((e) => !this.blocked.has(`${e.message.from}>${e.message.to}`));
  }

  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  /** Splits `ids` into two groups that cannot talk to each other. */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.cut(a, b);
        this.cut(b, a);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }
}
