/**
 * @module
 * What a node sends back on a peer's inbound connection to say its bytes arrive. A peer's link
 * carries one-way Raft messages (their answers come on this node's own link to the peer), so
 * without these the peer could not tell a connection that delivers from one stuck in TCP's
 * retransmission backoff after a network fault (see PeerLink's response timeout). One ack goes
 * at most every `intervalMs`; bytes that arrive sooner get one when the interval is up, so every
 * arrival is acknowledged within it.
 */

/** How often at most a peer connection is acknowledged (a peer's response timeout is longer). */
export const peerProgressAckIntervalMs = 100;

export class PeerProgressAck {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly sendAck: () => void,
    /** When the peer last heard from us (RAFT.HELLO's reply is an ack too). */
    private lastAckAtMs = -Infinity,
    private readonly intervalMs = peerProgressAckIntervalMs,
  ) {}

  /** Bytes arrived from the peer. */
  received(nowMs: number): void {
    if (this.timer !== undefined) return; // an ack is already due
    const waitMs = this.lastAckAtMs + this.intervalMs - nowMs;
    if (waitMs <= 0) {
      this.ack(nowMs);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ack(performance.now());
    }, waitMs);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private ack(nowMs: number): void {
    this.lastAckAtMs = nowMs;
    this.sendAck();
  }
}
