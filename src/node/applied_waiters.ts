/**
 * @module
 * Waiters for a log position to be applied (RAFT.NODE ADD/REMOVE reply once their entry is
 * applied). A waiter resolves true when the entry at its index is applied with its term, false
 * when another term is applied there (the entry was lost) or on timeout.
 */
interface Waiter {
  index: number;
  term: number;
  resolve: (applied: boolean) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class AppliedWaiters {
  private waiters: Waiter[] = [];

  wait(index: number, term: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        index,
        term,
        resolve,
        timer: setTimeout(() => this.settle(waiter, false), timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The entry (index, term) was applied. */
  reached(index: number, term: number): void {
    if (this.waiters.length === 0) return;
    for (const waiter of this.waiters.slice()) {
      if (waiter.index === index) this.settle(waiter, waiter.term === term);
      else if (waiter.index < index) this.settle(waiter, false);
    }
  }

  failAll(): void {
    for (const waiter of this.waiters.slice()) this.settle(waiter, false);
  }

  private settle(waiter: Waiter, applied: boolean): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(applied);
  }
}
