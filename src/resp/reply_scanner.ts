/**
 * @module
 * Incremental scanner of replies from redis-server (RESP2 and RESP3). It finds
 * where each top-level reply ends, across nesting and chunk boundaries, and
 * hands the reply back as raw bytes to forward without decoding. An attribute
 * (`|`) is returned together with the reply it annotates; a push (`>`) is
 * returned as its own frame. A reply larger than `frameMaxBytes` is scanned to
 * its end without being kept and returned as an error in its place, so that the
 * connection it came on (the node's ordered one to its child) stays in step.
 */

import { ReplyProtocolError } from "./reply_protocol_error.ts";

export interface ReplyScannerLimits {
  /** Largest single top-level reply kept in memory. */
  frameMaxBytes: number;
}

export const DEFAULT_REPLY_SCANNER_LIMITS: Readonly<ReplyScannerLimits> = Object.freeze({
  frameMaxBytes: 1024 * 1024 * 1024,
});

const BUFFER_INITIAL_BYTES = 64 * 1024;
const encoder = new TextEncoder();
const CR = 13;
const LF = 10;

/**
 * Splits a reply stream into frames. Frames are views into internal buffers that
 * are never written again, so they stay valid; `slice()` one to keep it long
 * without pinning the surrounding buffer.
 */
export class ReplyScanner {
  readonly limits: Readonly<ReplyScannerLimits>;

  #buf = new Uint8Array(BUFFER_INITIAL_BYTES);
  /** Start of the frame being scanned. */
  #frameStart = 0;
  /** Start of the next element header inside that frame. */
  #pos = 0;
  #end = 0;
  /** Bytes the incomplete frame needs at least, to size the next buffer in one step. */
  #neededBytes = 0;
  /** Elements still missing per open aggregate, innermost last. */
  #remaining: number[] = [];
  /** Whether each open aggregate is an attribute (which is not an element itself). */
  #isAttribute: boolean[] = [];
  #failure: ReplyProtocolError | null = null;
  /** The frame being scanned outgrew frameMaxBytes: its bytes are dropped as they are scanned. */
  #discarding = false;
  /** Bytes of a dropped frame's bulk string still to arrive (dropped by `push`). */
  #skipBytes = 0;
  /** What a reply too large to keep is answered with. */
  readonly #tooLargeReply: Uint8Array;

  constructor(limits: Partial<ReplyScannerLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_REPLY_SCANNER_LIMITS, ...limits });
    this.#tooLargeReply = encoder.encode(
      `-ERR reply too large: more than ${this.limits.frameMaxBytes} bytes\r\n`,
    );
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#end - this.#frameStart;
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== null) return;
    if (this.#skipBytes > 0) {
      const skipped = Math.min(this.#skipBytes, chunk.length);
      this.#skipBytes -= skipped;
      chunk = chunk.subarray(skipped);
    }
    const bytes = chunk.length;
    if (bytes === 0) return;
    if (this.#end + bytes > this.#buf.length) this.#moveToNewBuffer(bytes);
    this.#buf.set(chunk, this.#end);
    this.#end += bytes;
  }

  /** The next complete reply, or null when more bytes are needed. */
  next(): Uint8Array | null {
    if (this.#failure !== null) throw this.#failure;
    try {
      return this.#scan();
    } catch (error) {
      if (error instanceof ReplyProtocolError) this.#failure = error;
      throw error;
    }
  }

  #scan(): Uint8Array | null {
    const buf = this.#buf;
    const end = this.#end;
    let pos = this.#pos;
    const remaining = this.#remaining;
    for (;;) {
      if (pos >= end) break;
      const type = buf[pos];
      const cr = findCrLf(buf, pos + 1, end);
      if (cr < 0) {
        this.#neededBytes = end - this.#frameStart + 1;
        break;
      }
      let elementDone = true;
      switch (type) {
        case 43: // + simple string
        case 45: // - error
        case 58: // : integer
        case 95: // _ null
        case 44: // , double
        case 35: // # boolean
        case 40: // ( big number
          pos = cr + 2;
          break;
        case 36: // $ bulk
        case 33: // ! blob error
        case 61: { // = verbatim string
          const len = parseLength(buf, pos + 1, cr);
          if (len === -1 && type === 36) {
            pos = cr + 2;
            break;
          }
          if (len < 0) throw malformed(buf, pos, cr);
          const after = cr + 2 + len + 2;
          if (after - this.#frameStart > this.limits.frameMaxBytes) this.#discarding = true;
          if (after > end) {
            if (this.#discarding) {
              // What has not arrived yet is dropped as it comes; the element ends here.
              this.#skipBytes = after - end;
              pos = end;
              break;
            }
            this.#neededBytes = after - this.#frameStart;
            this.#pos = pos;
            return null;
          }
          if (buf[after - 2] !== CR || buf[after - 1] !== LF) throw malformed(buf, pos, cr);
          pos = after;
          break;
        }
        case 42: // * array
        case 126: // ~ set
        case 62: // > push
        case 37: // % map
        case 124: { // | attribute
          const count = parseLength(buf, pos + 1, cr);
          if (count < -1 || (count === -1 && type !== 42)) throw malformed(buf, pos, cr);
          pos = cr + 2;
          if (count === -1) break;
          const elements = type === 37 || type === 124 ? count * 2 : count;
          if (type === 124) {
            elementDone = false;
            if (elements === 0) break;
          } else if (elements === 0) {
            break;
          }
          remaining.push(elements);
          this.#isAttribute.push(type === 124);
          elementDone = false;
          break;
        }
        default:
          throw malformed(buf, pos, cr);
      }
      if (pos - this.#frameStart > this.limits.frameMaxBytes) this.#discarding = true;
      if (this.#discarding) this.#frameStart = pos; // scanned: no longer kept
      if (!elementDone) continue;
      // Close every aggregate this element completes.
      let frameDone = true;
      while (remaining.length > 0) {
        const top = remaining.length - 1;
        if (--remaining[top] > 0) {
          frameDone = false;
          break;
        }
        remaining.pop();
        if (this.#isAttribute.pop()) {
          // An attribute annotates the next value; it is not an element of its parent.
          frameDone = false;
          break;
        }
      }
      if (frameDone) {
        const frame = this.#discarding ? this.#tooLargeReply : buf.subarray(this.#frameStart, pos);
        this.#frameStart = this.#pos = pos;
        this.#neededBytes = 0;
        this.#discarding = false;
        return frame;
      }
    }
    this.#pos = pos;
    // Only a header line can be left unscanned here, and redis-server's are short.
    if (end - this.#frameStart > this.limits.frameMaxBytes) throw tooBig();
    return null;
  }

  /**
   * Copies the incomplete frame into a fresh buffer with room for `bytes` more. The old
   * buffer is left untouched because returned frames may still be views of it.
   */
  #moveToNewBuffer(bytes: number): void {
    const live = this.#end - this.#frameStart;
    const size = Math.max(BUFFER_INITIAL_BYTES, live + bytes, this.#neededBytes, live * 2);
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(this.#frameStart, this.#end));
    this.#pos -= this.#frameStart;
    this.#frameStart = 0;
    this.#end = live;
    this.#buf = grown;
  }
}

/** Index of the `\r` of the first `\r\n` at or after `from`, or -1. */
function findCrLf(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) {
    if (buf[i] === CR) {
      if (buf[i + 1] === LF) return i;
      throw new ReplyProtocolError("CR without LF in reply header");
    }
  }
  return -1;
}

/** A non-negative decimal length or -1 for `-1`; -2 when malformed. */
function parseLength(buf: Uint8Array, from: number, to: number): number {
  if (to - from === 2 && buf[from] === 45 && buf[from + 1] === 49) return -1;
  if (from === to || to - from > 15) return -2;
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = buf[i] - 48;
    if (digit < 0 || digit > 9) return -2;
    n = n * 10 + digit;
  }
  return n;
}

function malformed(buf: Uint8Array, from: number, to: number): ReplyProtocolError {
  const shown = String.fromCharCode(...buf.subarray(from, Math.min(to, from + 32)));
  return new ReplyProtocolError(`malformed reply header ${JSON.stringify(shown)}`);
}

function tooBig(): ReplyProtocolError {
  return new ReplyProtocolError("reply exceeds frameMaxBytes");
}
