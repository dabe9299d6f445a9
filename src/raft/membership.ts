/**
 * Membership tracking. A configuration takes effect as soon as its entry is in the
 * log (Raft thesis §4.1) and is reverted when that entry is truncated, so the
 * tracker keeps the configuration after each membership entry still in the log,
 * on top of the configuration at the compaction point.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { decodeMembershipChange } from "./membership_codec.ts";
import { type Entry, EntryType, type Member, type Membership, type NodeId } from "./types.ts";

export const emptyMembership: Membership = { members: [], usedNodeIds: [] };

interface MembershipEvent {
  readonly index: number;
  readonly membership: Membership;
}

export function isMembershipEntry(entry: Entry): boolean {
  return entry.type === EntryType.AddNonVoter || entry.type === EntryType.AddVoter ||
    entry.type === EntryType.RemoveNode;
}

/** Applies one membership entry to a configuration (pure, deterministic). */
export function applyMembershipEntry(membership: Membership, entry: Entry): Membership {
  const { nodeId, addr } = decodeMembershipChange(entry.data);
  const others = membership.members.filter((m) => m.id !== nodeId);
  const existing = membership.members.find((m) => m.id === nodeId);
  let members: Member[];
  switch (entry.type) {
    case EntryType.AddNonVoter:
      members = existing
        ? [...membership.members]
        : [...others, { id: nodeId, addr, voter: false }];
      break;
    case EntryType.AddVoter:
      members = [...others, { id: nodeId, addr, voter: true }];
      break;
    case EntryType.RemoveNode:
      members = others;
      break;
    default:
      throw new Error(`raft invariant violated: entry ${entry.index} is not a membership change`);
  }
  members.sort((a, b) => a.id - b.id);
  const usedNodeIds = membership.usedNodeIds.includes(nodeId)
    ? membership.usedNodeIds
    : [...membership.usedNodeIds, nodeId].sort((a, b) => a - b);
  return { members, usedNodeIds };
}

export class MembershipTracker {
  private base: Membership;
  private baseIndex: number;
  private events: MembershipEvent[] = [];
  /** Bumped on every change of the effective configuration. */
  version = 0;
  private voterIdsCache: NodeId[] = [];

  constructor(base: Membership = emptyMembership, baseIndex = 0) {
    this.base = base;
    this.baseIndex = baseIndex;
    this.refresh();
  }

  current(): Membership {
    const n = this.events.length;
    return n > 0 ? this.events[n - 1].membership : this.base;
  }

  /** Index of the latest membership entry in the log (or the base index). */
  lastChangeIndex(): number {
    const n = this.events.length;
    return n > 0 ? this.events[n - 1].index : this.baseIndex;
  }

  voterIds(): readonly NodeId[] {
    return this.voterIdsCache;
  }

  member(id: NodeId): Member | undefined {
    return this.current().members.find((m) => m.id === id);
  }

  isVoter(id: NodeId): boolean {
    return this.voterIdsCache.includes(id);
  }

  isUsed(id: NodeId): boolean {
    return this.current().usedNodeIds.includes(id);
  }

  /** Configuration as of log index `index` (must be >= the base index). */
  at(index: number): Membership {
    assert(index >= this.baseIndex, `membership at ${index} is before the base ${this.baseIndex}`);
    let result = this.base;
    for (const event of this.events) {
      if (event.index > index) break;
      result = event.membership;
    }
    return result;
  }

  /** Call for every entry appended to the log, in order. */
  onAppend(entry: Entry): void {
    if (!isMembershipEntry(entry)) return;
    assert(entry.index > this.lastChangeIndex(), "membership entries out of order");
    this.events.push({
      index: entry.index,
      membership: applyMembershipEntry(this.current(), entry),
    });
    this.refresh();
  }

  /** Reverts configurations whose entries were truncated (index >= `index`). */
  onTruncate(index: number): void {
    const before = this.events.length;
    while (this.events.length > 0 && this.events[this.events.length - 1].index >= index) {
      this.events.pop();
    }
    if (this.events.length !== before) this.refresh();
  }

  /** Folds configurations at or before `index` into the base. */
  onCompact(index: number): void {
    if (index <= this.baseIndex) return;
    this.base = this.at(index);
    this.baseIndex = index;
    this.events = this.events.filter((e) => e.index > index);
  }

  /** Replaces everything with a snapshot's configuration. */
  reset(base: Membership, baseIndex: number): void {
    this.base = base;
    this.baseIndex = baseIndex;
    this.events = [];
    this.refresh();
  }

  private refresh(): void {
    this.voterIdsCache = this.current().members.filter((m) => m.voter).map((m) => m.id);
    this.version++;
  }
}
