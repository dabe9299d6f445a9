/**
 * The log's I/O queue. Operations run one at a time in call order, so the disk sees
 * appends, truncations and compactions in the order the caller issued them. Flushes
 * coalesce: items submitted while the queue's last operation is a flush that has not
 * started join that flush, so N `sync()` callers arriving behind an in-flight fsync
 * share the next one (one write + one fdatasync).
 *
 * After an operation fails, every queued and later operation rejects with that error:
 * the disk is in an unknown state and only recovery from it is safe.
 *
 * @module
 */

interface Batch<T> {
  items: T[];
  done: Promise<void>;
}

export class FsyncBatcher<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  /** Settles when the last queued operation has finished; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /** Result of the last queued operation (rejects if it failed). */
  #last: Promise<void> = Promise.resolve();
  /** Flushes queued but not started, oldest first; the last may still take items. */
  #queued: Batch<T>[] = [];
  #openBatch: Batch<T> | undefined;
  #failure: Error | undefined;

  constructor(flush: (items: T[]) => Promise<void>) {
    this.#flush = flush;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Adds `items` to the open flush (starting one if needed); resolves once it is done. */
  submit(items: readonly T[]): Promise<void> {
    let batch = this.#openBatch;
    if (batch === undefined) {
      const created: Batch<T> = { items: [], done: Promise.resolve() };
      created.done = this.#enqueue(() => {
        if (this.#openBatch === created) this.#openBatch = undefined;
        this.#queued.splice(this.#queued.indexOf(created), 1);
        return this.#flush(created.items);
      });
      this.#queued.push(created);
      this.#openBatch = batch = created;
    }
    for (const item of items) batch.items.push(item);
    return batch.done;
  }

  /** Runs `op` after everything queued so far; items submitted later flush after it. */
  run<R>(op: () => Promise<R>): Promise<R> {
    this.#openBatch = undefined;
    let result!: R;
    return this.#enqueue(async () => {
      result = await op();
    }).then(() => result);
  }

  /** Resolves when everything queued so far is done; rejects if any of it failed. */
  barrier(): Promise<void> {
    return this.#last;
  }

  /** Drops items of flushes that have not started (records truncated before reaching disk). */
  filterQueued(keep: (item: T) => boolean): void {
    for (const batch of this.#queued) batch.items = batch.items.filter(keep);
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const result = this.#tail.then(() => {
      if (this.#failure !== undefined) throw this.#failure;
      return op();
    });
    this.#last = result;
    this.#tail = result.then(
      () => {},
      (error) => {
        this.#failure ??= error instanceof Error ? error : new Error(String(error));
      },
    );
    return result;
  }
}
