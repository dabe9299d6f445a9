/**
 * @module
 * Keeps each client connection's commands in pipeline order across the two paths they take
 * (writes through the log, reads behind a barrier): a read waits for its session's earlier
 * writes to be applied (its floor is the last write's index), and a write is proposed only once
 * its session's earlier reads have been sent to the child. Without this a pipelined
 * `RPUSH; LLEN; RPUSH` could observe either push.
 */
type Step = { kind: "read" | "write"; run: () => void };

export class SessionOrder {
  /** Index of this session's last proposed write. */
  lastWriteIndex = 0;
  /** A write of this session waits in the write batcher: flush it before reading the above. */
  writeGathered = false;
  /** Reads accepted but not yet sent to the child. */
  private undispatchedReads = 0;
  /** Steps held back, in arrival order. */
  private held: Step[] = [];

  /** Called when a registered read is sent to the child or failed (bound once per session). */
  readonly onReadDispatched = (): void => this.readDispatched();

  /**
   * True if a step of `kind` may run right now, with its bookkeeping done: the caller runs it
   * at once instead of handing a closure to {@link read} or {@link write} (the common case).
   */
  startNow(kind: "read" | "write"): boolean {
    if (this.held.length > 0) return false;
    if (kind === "read") {
      this.undispatchedReads++;
      return true;
    }
    return this.undispatchedReads === 0;
  }

  /** A read: `run` registers it (its floor is `lastWriteIndex` at that moment). */
  read(run: () => void): void {
    this.submit({ kind: "read", run });
  }

  /** A write: `run` proposes it (and updates `lastWriteIndex`). */
  write(run: () => void): void {
    this.submit({ kind: "write", run });
  }

  /** Call when a registered read is sent to the child or failed. */
  readDispatched(): void {
    this.undispatchedReads--;
    this.drain();
  }

  private submit(step: Step): void {
    if (this.held.length > 0 || !this.canRun(step)) {
      this.held.push(step);
      return;
    }
    this.start(step);
  }

  private canRun(step: Step): boolean {
    return step.kind === "read" || this.undispatchedReads === 0;
  }

  private start(step: Step): void {
    if (step.kind === "read") this.undispatchedReads++;
    step.run();
  }

  private draining = false;

  private drain(): void {
    if (this.draining) return; // a read dispatched synchronously from start(): the loop re-checks
    this.draining = true;
    try {
      while (this.held.length > 0 && this.canRun(this.held[0])) this.start(this.held.shift()!);
    } finally {
      this.draining = false;
    }
  }
}
