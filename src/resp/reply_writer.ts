/**
 * @module
 * RESP encoders writing into one growable, reused output buffer: replies to
 * clients and multibulk commands (to the redis child, and as log payloads).
 */

import { allocBytes } from "./byte_slab.ts";
import { concatBytes, WRITE_COPY_MAX_BYTES } from "./bytes.ts";

const CR = 13;
const LF = 10;
const INITIAL_BYTES = 16 * 1024;
/** A buffer that grew past this is dropped on {@link ReplyWriter.reset}. */
const KEEP_MAX_BYTES = 1024 * 1024;
/** `$<n>\r\n` and `*<n>\r\n` are precomputed for n below this. */
const HEADER_TABLE_SIZE = 1024;
/** Strings up to this many UTF-16 units are tried with a plain ASCII copy loop first. */
const ASCII_LOOP_MAX_CHARS = 64;

const encoder = new TextEncoder();
const CRLF_BYTES = encoder.encode("\r\n");

function headerTable(prefix: string): Uint8Array[] {
  const table: Uint8Array[] = [];
  for (let n = 0; n < HEADER_TABLE_SIZE; n++) table.push(encoder.encode(`${prefix}${n}\r\n`));
  return table;
}

const BULK_HEADERS = headerTable("$");
const ARRAY_HEADERS = headerTable("*");

/** Frequently written complete replies. */
export const REPLY_OK: Uint8Array = encoder.encode("+OK\r\n");
export const REPLY_NULL_BULK: Uint8Array = encoder.encode("$-1\r\n");
export const REPLY_NULL_ARRAY: Uint8Array = encoder.encode("*-1\r\n");

/** Appends RESP values; read them with {@link view} or {@link take}. */
export class ReplyWriter {
  #buf: Uint8Array;
  #length = 0;

  constructor(initialBytes: number = INITIAL_BYTES) {
    this.#buf = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#length;
  }

  /** The bytes written so far; a view that later writes or {@link reset} may overwrite. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  /** A copy of the bytes written so far, then {@link reset}. */
  take(): Uint8Array {
    const bytes = this.#buf.slice(0, this.#length);
    this.reset();
    return bytes;
  }

  /** Forgets the written bytes, keeping the buffer unless it grew unusually large. */
  reset(): void {
    this.#length = 0;
    if (this.#buf.length > KEEP_MAX_BYTES) this.#buf = new Uint8Array(INITIAL_BYTES);
  }

  /** `+<text>\r\n`; CR and LF in `text` become spaces so the frame stays valid. */
  writeSimpleString(text: string): void {
    this.#writeLine(43, text);
  }

  /** `-<message>\r\n` where message starts with the code, e.g. `ERR syntax error`. */
  writeError(message: string): void {
    this.#writeLine(45, message);
  }

  /** `:<n>\r\n` for an integer number or bigint. */
  writeInteger(n: number | bigint): void {
    if (typeof n === "number" && !Number.isSafeInteger(n)) {
      throw new RangeError(`not a safe integer: ${n}`);
    }
    const text = String(n);
    this.#ensure(text.length + 3);
    const buf = this.#buf;
    let at = this.#length;
    buf[at++] = 58;
    for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
    buf[at++] = CR;
    buf[at++] = LF;
    this.#length = at;
  }

  /** `$<len>\r\n<bytes>\r\n`. */
  writeBulk(bytes: Uint8Array): void {
    const len = bytes.length;
    this.#ensure(len + 16);
    this.#writeHeader(BULK_HEADERS, 36, len);
    const buf = this.#buf;
    let at = this.#length;
    if (len <= 16) {
      for (let i = 0; i < len; i++) buf[at + i] = bytes[i];
    } else {
      buf.set(bytes, at);
    }
    at += len;
    buf[at++] = CR;
    buf[at++] = LF;
    this.#length = at;
  }

  /** A bulk holding the UTF-8 encoding of `text`. */
  writeBulkString(text: string): void {
    const maxBytes = text.length * 3;
    const headerMaxBytes = String(maxBytes).length + 3;
    this.#ensure(headerMaxBytes + maxBytes + 2);
    // Encode after a worst-case header, then write the real header and slide the body left.
    const bodyAt = this.#length + headerMaxBytes;
    const len = this.#encodeAt(text, bodyAt);
    this.#writeHeader(BULK_HEADERS, 36, len);
    const buf = this.#buf;
    let at = this.#length;
    if (at !== bodyAt) buf.copyWithin(at, bodyAt, bodyAt + len);
    at += len;
    buf[at++] = CR;
    buf[at++] = LF;
    this.#length = at;
  }

  writeNullBulk(): void {
    this.writeRaw(REPLY_NULL_BULK);
  }

  /** `*<count>\r\n`; the caller then writes `count` values. */
  writeArrayHeader(count: number): void {
    this.#ensure(24);
    this.#writeHeader(ARRAY_HEADERS, 42, count);
  }

  writeNullArray(): void {
    this.writeRaw(REPLY_NULL_ARRAY);
  }

  /** Already encoded RESP bytes, e.g. a reply frame forwarded from redis-server. */
  writeRaw(bytes: Uint8Array): void {
    const len = bytes.length;
    this.#ensure(len);
    const buf = this.#buf;
    const at = this.#length;
    if (len <= 16) {
      for (let i = 0; i < len; i++) buf[at + i] = bytes[i];
    } else {
      buf.set(bytes, at);
    }
    this.#length = at + len;
  }

  /** A request as redis-server expects it: an array of bulks. */
  writeCommand(args: readonly (Uint8Array | string)[]): void {
    this.writeArrayHeader(args.length);
    for (const arg of args) {
      if (typeof arg === "string") this.writeBulkString(arg);
      else this.writeBulk(arg);
    }
  }

  #ensure(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#buf.length * 2));
    grown.set(this.#buf.subarray(0, this.#length));
    this.#buf = grown;
  }

  /** Writes `<prefix><n>\r\n`; room must be ensured. */
  #writeHeader(table: Uint8Array[], prefix: number, n: number): void {
    const buf = this.#buf;
    let at = this.#length;
    if (n >= 0 && n < HEADER_TABLE_SIZE) {
      const header = table[n];
      for (let i = 0; i < header.length; i++) buf[at++] = header[i];
    } else {
      const digits = String(n);
      buf[at++] = prefix;
      for (let i = 0; i < digits.length; i++) buf[at++] = digits.charCodeAt(i);
      buf[at++] = CR;
      buf[at++] = LF;
    }
    this.#length = at;
  }

  #writeLine(prefix: number, text: string): void {
    this.#ensure(text.length * 3 + 3);
    const buf = this.#buf;
    const from = this.#length + 1;
    buf[this.#length] = prefix;
    const end = from + this.#encodeAt(text, from);
    for (let i = from; i < end; i++) {
      if (buf[i] === CR || buf[i] === LF) buf[i] = 32;
    }
    buf[end] = CR;
    buf[end + 1] = LF;
    this.#length = end + 2;
  }

  /** UTF-8 encodes `text` at `at` (room for 3 bytes per unit ensured); returns its byte length. */
  #encodeAt(text: string, at: number): number {
    const buf = this.#buf;
    const n = text.length;
    if (n <= ASCII_LOOP_MAX_CHARS) {
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 128) break;
        buf[at + i] = c;
      }
      if (i === n) return n;
    }
    return encoder.encodeInto(text, buf.subarray(at)).written;
  }
}

/** `args` as a RESP multibulk request, in a fresh exactly sized buffer (each byte copied once). */
export function encodeCommand(args: readonly (Uint8Array | string)[]): Uint8Array {
  const out = allocBytes(encodedCommandBytes(args));
  writeCommandAt(out, 0, args);
  return out;
}

/**
 * `args` as a RESP multibulk request, as the buffers to write one after the other: arguments of
 * `WRITE_COPY_MAX_BYTES` or more are parts of their own (not copied; unchanged until written),
 * the rest is encoded around them. One buffer when no argument is that large.
 */
export function encodeCommandParts(args: readonly Uint8Array[]): Uint8Array | Uint8Array[] {
  let largeCount = 0;
  for (const arg of args) if (arg.length >= WRITE_COPY_MAX_BYTES) largeCount++;
  if (largeCount === 0) return encodeCommand(args);
  const parts: Uint8Array[] = [];
  let run: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    if (arg.length < WRITE_COPY_MAX_BYTES) {
      run.push(encodeCommand([arg]).subarray(4)); // its `$<n>\r\n<bytes>\r\n`, without `*1\r\n`
      continue;
    }
    run.push(encoder.encode(`$${arg.length}\r\n`));
    parts.push(concatBytes(run), arg);
    run = [CRLF_BYTES];
  }
  parts.push(concatBytes(run));
  return parts;
}

/** Size of `args` encoded as a RESP multibulk request. */
export function encodedCommandBytes(args: readonly (Uint8Array | string)[]): number {
  let total = decimalLength(args.length) + 3;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const len = typeof arg === "string" && !isAscii(arg) ? encoder.encode(arg).length : arg.length;
    total += decimalLength(len) + len + 5;
  }
  return total;
}

/**
 * Writes `args` as a RESP multibulk request at `at` (room for {@link encodedCommandBytes} must be
 * there); returns the offset after it.
 */
export function writeCommandAt(
  out: Uint8Array,
  at: number,
  args: readonly (Uint8Array | string)[],
): number {
  at = writeLengthLine(out, at, 42, args.length);
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    if (typeof arg === "string" && !isAscii(arg)) arg = encoder.encode(arg);
    const len = arg.length;
    at = writeLengthLine(out, at, 36, len);
    if (typeof arg === "string") {
      for (let k = 0; k < len; k++) out[at + k] = arg.charCodeAt(k);
    } else if (len <= 16) {
      for (let k = 0; k < len; k++) out[at + k] = arg[k];
    } else {
      out.set(arg, at);
    }
    at += len;
    out[at++] = CR;
    out[at++] = LF;
  }
  return at;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 128) return false;
  }
  return true;
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

function writeLengthLine(out: Uint8Array, at: number, prefix: number, n: number): number {
  const table = prefix === 36 ? BULK_HEADERS : ARRAY_HEADERS;
  if (n < HEADER_TABLE_SIZE) {
    const header = table[n];
    for (let i = 0; i < header.length; i++) out[at++] = header[i];
    return at;
  }
  out[at++] = prefix;
  const digits = String(n);
  for (let i = 0; i < digits.length; i++) out[at++] = digits.charCodeAt(i);
  out[at++] = CR;
  out[at++] = LF;
  return at;
}
