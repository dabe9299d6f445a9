/**
 * @module
 * Large read buffers shared by the client connections. A connection waits for its next request
 * in a small buffer of its own; only a read that filled it (the client sent more at once) takes a
 * large one from here for the reads that follow, and gives it back as soon as the bytes are
 * handed to its parser (which copies them). So a connection that once sent a large request and
 * then idles holds kilobytes, not the large buffer, as Redis frees an idle client's query buffer.
 */

export class ReadBufferPool {
  readonly #free: Uint8Array[] = [];

  constructor(
    /** Size of each pooled buffer. */
    readonly bufferBytes: number,
    /** Buffers kept for reuse at most; more given back are left to the garbage collector. */
    readonly keptMaxCount: number,
  ) {}

  /** A buffer of `bufferBytes`, reused if one is free. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.bufferBytes);
  }

  /** Returns a buffer from take() that nothing reads into or from any more. */
  give(buffer: Uint8Array): void {
    if (buffer.length === this.bufferBytes && this.#free.length < this.keptMaxCount) {
      this.#free.push(buffer);
    }
  }

  /** Buffers free for reuse now. */
  get freeCount(): number {
    return this.#free.length;
  }
}
