/**
 * @module
 * Incremental parser of client requests, mirroring redis-server 7.0's
 * `processMultibulkBuffer` and `processInlineBuffer`: feed socket chunks with
 * {@link RequestParser.push}, pull whole commands with {@link RequestParser.next}.
 *
 * Redis quirks kept on purpose: the byte after a header's `\r` and the two bytes
 * after a bulk are skipped without being checked; a NUL byte before a line's
 * terminator stalls the line (C `strchr` stops at NUL) until the line limit;
 * `*0`, `*-N` and empty inline lines are no commands.
 *
 * Arguments are views into the parser's input buffer, which is never written
 * again once handed out (a full buffer is replaced, not compacted): allocating
 * small typed arrays costs ~10x more than a view. `slice()` an argument to keep it
 * long without pinning its whole input buffer.
 */

import {
  DEFAULT_REQUEST_LIMITS,
  type RequestLimits,
  UNAUTHENTICATED_BULK_MAX_BYTES,
  UNAUTHENTICATED_MULTIBULK_MAX_COUNT,
} from "./request_limits.ts";
import { PROTOCOL_ERROR_MESSAGES as MESSAGES, ProtocolError } from "./protocol_error.ts";
import { parseRedisInteger } from "./resp_integer.ts";
import { splitInlineArgs } from "./inline_args.ts";

/** Bulks at least this big get their own buffer of the declared size (Redis's PROTO_MBULK_BIG_ARG). */
export const BIG_BULK_MIN_BYTES = 32 * 1024;

/** Smallest input buffer allocated; buffers are replaced (never compacted) when full. */
const BUFFER_MIN_BYTES = 4 * 1024;
/**
 * A drained input buffer larger than this is dropped, so that a client that once sent a large
 * request and then idles pins little memory (Redis frees an idle client's query buffer).
 */
const BUFFER_KEEP_MAX_BYTES = BUFFER_MIN_BYTES;
const INT_MAX = 2147483647;
const CR = 13;
const LF = 10;

export interface RequestParserOptions {
  limits?: Partial<RequestLimits>;
  /** Apply Redis's stricter limits for connections that have not authenticated yet. */
  authRequired?: boolean;
}

/** One client's request stream. After a {@link ProtocolError} it stays dead. */
export class RequestParser {
  readonly limits: Readonly<RequestLimits>;
  /** Redis's `authRequired(c)`: at most 10 arguments and 16 KiB bulks. The caller clears it after AUTH. */
  authRequired: boolean;

  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** Bytes after #start already searched for the current line's terminator. */
  #scanned = 0;

  /** Bulks still missing in the multibulk being assembled; 0 between commands. */
  #bulksRemaining = 0;
  /** Declared length of the bulk being read, -1 before its `$` line. */
  #bulkLen = -1;
  #args: Uint8Array[] = [];
  #argsBytes = 0;
  #bigBulk: Uint8Array | null = null;
  #bigBulkFilled = 0;
  #bigBulkTrailerBytes = 0;

  #failure: ProtocolError | null = null;

  constructor(options: RequestParserOptions = {}) {
    const limits = { ...DEFAULT_REQUEST_LIMITS, ...options.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad limit ${name}`);
    }
    this.limits = Object.freeze(limits);
    this.authRequired = options.authRequired ?? false;
  }

  /** Bytes this parser holds for the client, as counted against `queryBufferMaxBytes`. */
  get heldBytes(): number {
    return this.#end - this.#start + this.#argsBytes + (this.#bigBulk?.length ?? 0);
  }

  /** Bytes of input buffer this parser holds, used or not (CLIENT LIST's query buffer). */
  get bufferBytes(): number {
    return this.#buf.length + (this.#bigBulk?.length ?? 0);
  }

  /** The error that killed this parser, if any. */
  get failure(): ProtocolError | null {
    return this.#failure;
  }

  /** Appends bytes read from the client. Never throws; a limit violation surfaces from {@link next}. */
  push(chunk: Uint8Array): void {
    if (this.#failure !== null) return;
    let from = 0;
    const bigBulk = this.#bigBulk;
    if (bigBulk !== null && this.#bigBulkFilled < bigBulk.length) {
      // The big bulk's buffer is the only copy of its bytes.
      from = Math.min(chunk.length, bigBulk.length - this.#bigBulkFilled);
      bigBulk.set(from === chunk.length ? chunk : chunk.subarray(0, from), this.#bigBulkFilled);
      this.#bigBulkFilled += from;
    }
    if (from < chunk.length) this.#append(chunk, from);
    if (this.heldBytes > this.limits.queryBufferMaxBytes) {
      this.#fail(new ProtocolError(MESSAGES.queryBufferLimit, false));
    }
  }

  /**
   * The next complete command (arguments are views that stay valid), or null
   * when more input is needed. Throws the {@link ProtocolError} that killed the parser.
   */
  next(): Uint8Array[] | null {
    if (this.#failure !== null) throw this.#failure;
    for (;;) {
      if (this.#bulksRemaining === 0) {
        if (this.#start === this.#end) {
          this.#releaseIdleBuffer();
          return null;
        }
        if (this.#buf[this.#start] === 42) {
          if (!this.#readMultibulkHeader()) return null;
          if (this.#bulksRemaining === 0) continue;
        } else {
          const args = this.#readInline();
          if (args === null) return null;
          if (args.length === 0) continue;
          return args;
        }
      }
      if (!this.#readBulks()) return null;
      const args = this.#args;
      this.#args = [];
      this.#argsBytes = 0;
      return args;
    }
  }

  #fail(error: ProtocolError): never {
    this.#failure = error;
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    this.#args = [];
    this.#argsBytes = 0;
    this.#bigBulk = null;
    throw error;
  }

  /**
   * Index of the current line's terminator `byte`, or -1. Stops at a NUL like C
   * `strchr`. Resumes where the previous call stopped, so a slowly arriving line
   * is scanned once.
   */
  #findTerminator(byte: number): number {
    const buf = this.#buf;
    const end = this.#end;
    let i = this.#start + this.#scanned;
    for (; i < end; i++) {
      const b = buf[i];
      if (b === byte) return i;
      if (b === 0) break;
    }
    this.#scanned = i - this.#start;
    return -1;
  }

  /** Parses `*<count>\r?`. Returns false when the line is incomplete. */
  #readMultibulkHeader(): boolean {
    const start = this.#start;
    const cr = this.#findTerminator(CR);
    this.#checkHeaderLine(cr, MESSAGES.tooBigMbulkCountString);
    if (cr < 0 || cr + 1 >= this.#end) return false;
    const count = parseRedisInteger(this.#buf, start + 1, cr);
    if (!(count <= INT_MAX) || count > this.limits.multibulkMaxCount) {
      this.#fail(new ProtocolError(MESSAGES.invalidMultibulkLength));
    }
    if (count > UNAUTHENTICATED_MULTIBULK_MAX_COUNT && this.authRequired) {
      this.#fail(new ProtocolError(MESSAGES.unauthenticatedMultibulkLength));
    }
    this.#consumeLine(cr + 2);
    if (count > 0) this.#bulksRemaining = count;
    return true;
  }

  /**
   * Redis rejects a header line that grows past PROTO_INLINE_MAX_SIZE without a `\r`.
   * We also reject a complete one that long, so the verdict does not depend on how
   * the bytes were split into reads.
   */
  #checkHeaderLine(cr: number, message: string): void {
    const lineBytes = (cr < 0 ? this.#end : cr) - this.#start;
    if (lineBytes > this.limits.inlineMaxBytes) this.#fail(new ProtocolError(message));
  }

  #consumeLine(next: number): void {
    this.#start = next;
    this.#scanned = 0;
  }

  /** Reads bulks until the multibulk is complete (true) or input runs out (false). */
  #readBulks(): boolean {
    while (this.#bulksRemaining > 0) {
      if (this.#bulkLen < 0 && !this.#readBulkHeader()) return false;
      const bigBulk = this.#bigBulk;
      if (bigBulk !== null) {
        if (this.#bigBulkFilled < bigBulk.length) return false;
        const skipped = Math.min(this.#bigBulkTrailerBytes, this.#end - this.#start);
        this.#start += skipped;
        this.#bigBulkTrailerBytes -= skipped;
        if (this.#bigBulkTrailerBytes > 0) return false;
        this.#bigBulk = null;
        this.#args.push(bigBulk);
      } else {
        const start = this.#start;
        const bulkLen = this.#bulkLen;
        if (this.#end - start < bulkLen + 2) return false;
        this.#args.push(new Uint8Array(this.#buf.buffer, start, bulkLen));
        this.#start = start + bulkLen + 2;
      }
      this.#argsBytes += this.#bulkLen;
      this.#bulkLen = -1;
      this.#bulksRemaining--;
    }
    return true;
  }

  /** Parses `$<len>\r?`. Returns false when the line is incomplete. */
  #readBulkHeader(): boolean {
    const start = this.#start;
    const cr = this.#findTerminator(CR);
    this.#checkHeaderLine(cr, MESSAGES.tooBigBulkCountString);
    if (cr < 0 || cr + 1 >= this.#end) return false;
    const buf = this.#buf;
    if (buf[start] !== 36) this.#fail(ProtocolError.expectedDollar(buf[start]));
    const bulkLen = parseRedisInteger(buf, start + 1, cr);
    if (!(bulkLen >= 0) || bulkLen > this.limits.protoMaxBulkLenBytes) {
      this.#fail(new ProtocolError(MESSAGES.invalidBulkLength));
    }
    if (bulkLen > UNAUTHENTICATED_BULK_MAX_BYTES && this.authRequired) {
      this.#fail(new ProtocolError(MESSAGES.unauthenticatedBulkLength));
    }
    this.#consumeLine(cr + 2);
    this.#bulkLen = bulkLen;
    if (bulkLen >= BIG_BULK_MIN_BYTES) this.#startBigBulk(bulkLen);
    return true;
  }

  #startBigBulk(bulkLen: number): void {
    if (this.heldBytes + bulkLen > this.limits.queryBufferMaxBytes) {
      this.#fail(new ProtocolError(MESSAGES.queryBufferLimit, false));
    }
    const bigBulk = new Uint8Array(bulkLen);
    const start = this.#start;
    const filled = Math.min(bulkLen, this.#end - start);
    bigBulk.set(this.#buf.subarray(start, start + filled));
    this.#start = start + filled;
    this.#bigBulk = bigBulk;
    this.#bigBulkFilled = filled;
    this.#bigBulkTrailerBytes = 2;
  }

  /** Parses one inline line. Returns null when incomplete; [] for a blank line. */
  #readInline(): Uint8Array[] | null {
    const start = this.#start;
    const lf = this.#findTerminator(LF);
    const inlineMaxBytes = this.limits.inlineMaxBytes;
    if (lf < 0) {
      // One more byte may be the `\r` of a line that is exactly at the limit.
      if (this.#end - start > inlineMaxBytes + 1) {
        this.#fail(new ProtocolError(MESSAGES.tooBigInlineRequest));
      }
      return null;
    }
    const lineEnd = lf > start && this.#buf[lf - 1] === CR ? lf - 1 : lf;
    if (lineEnd - start > inlineMaxBytes) {
      this.#fail(new ProtocolError(MESSAGES.tooBigInlineRequest));
    }
    const args = splitInlineArgs(this.#buf, start, lineEnd);
    if (args === null) this.#fail(new ProtocolError(MESSAGES.unbalancedQuotes));
    this.#consumeLine(lf + 1);
    return args;
  }

  #append(chunk: Uint8Array, from: number): void {
    const bytes = chunk.length - from;
    let buf = this.#buf;
    if (this.#end + bytes > buf.length) {
      // A fresh buffer, never compaction: handed-out arguments may view the old one.
      const live = this.#end - this.#start;
      const grown = new Uint8Array(Math.max(BUFFER_MIN_BYTES, 2 * (live + bytes)));
      grown.set(buf.subarray(this.#start, this.#end));
      this.#buf = buf = grown;
      this.#start = 0;
      this.#end = live;
    }
    buf.set(from === 0 ? chunk : chunk.subarray(from), this.#end);
    this.#end += bytes;
  }

  #releaseIdleBuffer(): void {
    if (this.#buf.length > BUFFER_KEEP_MAX_BYTES) {
      this.#buf = new Uint8Array(0);
      this.#start = this.#end = this.#scanned = 0;
    }
  }
}
