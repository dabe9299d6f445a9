/**
 * @module
 * All outbound peer links of a node, kept in step with the cluster membership: a link per other
 * member, created on first use or membership change, closed when the member leaves.
 */
import type { Membership, Message } from "../raft/mod.ts";
import { messageCommand, PeerLink, type PeerLinkOptions } from "./peer_link.ts";

export interface PeerHubOptions extends PeerLinkOptions {
  selfAddr: string;
}

export class PeerHub {
  readonly links = new Map<number, PeerLink>();
  private addrs = new Map<number, string>();
  /** performance.now() of the latest dropSilentLinks. */
  private silenceCheckedAtMs = -Infinity;

  constructor(private readonly options: PeerHubOptions) {}

  /**
   * Follow a membership change: open links to every member now (a restarted node announces
   * itself at once, and its peers' links to it, waiting out a backoff, reconnect: see
   * `peerConnected`), close links to removed ones.
   */
  updateMembership(membership: Membership): void {
    for (const m of membership.members) this.addrs.set(m.id, m.addr);
    const current = new Set(membership.members.map((m) => m.id));
    for (const [id, link] of this.links) {
      const addr = this.addrs.get(id);
      if (!current.has(id) || addr !== link.addr) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const id of current) this.link(id);
  }

  /** Remember an address learned outside the membership (e.g. a node being added). */
  learnAddr(id: number, addr: string): void {
    this.addrs.set(id, addr);
  }

  send(message: Message, chunk?: Uint8Array): void {
    const link = this.link(message.to);
    if (!link) return;
    link.send(messageCommand(message, chunk));
  }

  /** Peer `id` connected to this node: our link to it, if down, tries again now. */
  peerConnected(id: number): void {
    this.links.get(id)?.retryNow();
  }

  /** Every link connects anew, dropping what it queued (see PeerLink.restart). */
  restartLinks(): void {
    for (const link of this.links.values()) link.restart();
  }

  /**
   * Drop and reopen every connection whose peer has acknowledged nothing for longer than
   * `responseTimeoutMs` (RedisRaft's response-timeout); returns those peers' ids. Called often
   * (every tick); after a gap of half the timeout or more, this node's loop was held up (a slow
   * sync, a long command) and has not read the acknowledgements that came meanwhile: nothing is
   * dropped until the next call.
   */
  dropSilentLinks(nowMs: number, responseTimeoutMs: number): number[] {
    const sinceLastCheckMs = nowMs - this.silenceCheckedAtMs;
    this.silenceCheckedAtMs = nowMs;
    if (sinceLastCheckMs >= responseTimeoutMs / 2) return [];
    const dropped: number[] = [];
    for (const [id, link] of this.links) {
      if (link.silentForMs(nowMs) <= responseTimeoutMs) continue;
      link.dropSilent();
      dropped.push(id);
    }
    return dropped;
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  private link(id: number): PeerLink | undefined {
    if (id === this.options.selfId) return undefined;
    let link = this.links.get(id);
    if (!link) {
      const addr = this.addrs.get(id);
      if (addr === undefined) return undefined;
      link = new PeerLink(id, addr, this.options);
      this.links.set(id, link);
    }
    return link;
  }
}
