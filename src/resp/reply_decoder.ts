/**
 * @module
 * Decodes one complete reply frame into JS values, for the server's own use of
 * child replies (INFO, COMMAND, ...). Client traffic is never decoded: it is
 * forwarded as raw frames from {@link ReplyScanner}.
 */

import { ReplyProtocolError } from "./reply_protocol_error.ts";

/** An error reply (`-` or `!`), kept as a value rather than thrown. */
export class ReplyError extends Error {
  override readonly name = "ReplyError";
  /** First word of the message, e.g. `ERR`, `WRONGTYPE`, `MOVED`. */
  get code(): string {
    const space = this.message.indexOf(" ");
    return space < 0 ? this.message : this.message.slice(0, space);
  }
}

/** A decoded reply. Sets and pushes decode to arrays; attributes are dropped. */
export type ReplyValue =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | null
  | ReplyError
  | ReplyValue[]
  | Map<ReplyValue, ReplyValue>;

export interface DecodeReplyOptions {
  /** How bulk and verbatim strings decode: UTF-8 `"string"` (default) or raw `"bytes"`. */
  bulk?: "string" | "bytes";
}

/** Deeper nesting is refused instead of risking the JS stack. */
const NESTING_MAX = 512;
const decoder = new TextDecoder();

/** Decodes exactly one reply filling `frame`; throws {@link ReplyProtocolError} otherwise. */
export function decodeReply(frame: Uint8Array, options: DecodeReplyOptions = {}): ReplyValue {
  const state = { buf: frame, pos: 0, bulkAsBytes: options.bulk === "bytes" };
  const value = decodeValue(state, 0);
  if (state.pos !== frame.length) throw new ReplyProtocolError("bytes after the reply");
  return value;
}

interface DecodeState {
  buf: Uint8Array;
  pos: number;
  bulkAsBytes: boolean;
}

function decodeValue(state: DecodeState, depth: number): ReplyValue {
  if (depth > NESTING_MAX) throw new ReplyProtocolError("reply nested too deeply");
  const { buf } = state;
  const type = buf[state.pos];
  const line = readLine(state);
  switch (type) {
    case 43: // +
      return line;
    case 45: // -
      return new ReplyError(line);
    case 58: // :
    case 40: { // (
      const big = parseBigInt(line);
      const n = Number(big);
      return type === 58 && Number.isSafeInteger(n) ? n : big;
    }
    case 95: // _
      return null;
    case 44: // ,
      return parseDouble(line);
    case 35: // #
      if (line === "t") return true;
      if (line === "f") return false;
      throw new ReplyProtocolError(`bad boolean ${JSON.stringify(line)}`);
    case 36: // $
    case 33: // !
    case 61: { // =
      const len = parseCount(line);
      if (len === -1 && type === 36) return null;
      if (len < 0) throw new ReplyProtocolError("bad blob length");
      const bytes = readBlob(state, len);
      if (type === 33) return new ReplyError(decoder.decode(bytes));
      // A verbatim string starts with a 3-letter format and a colon: `txt:`.
      const body = type === 61 ? bytes.subarray(4) : bytes;
      return state.bulkAsBytes ? body.slice() : decoder.decode(body);
    }
    case 42: // *
    case 126: // ~
    case 62: { // >
      const count = parseCount(line);
      if (count === -1 && type === 42) return null;
      if (count < 0) throw new ReplyProtocolError("bad aggregate length");
      const items: ReplyValue[] = [];
      for (let i = 0; i < count; i++) items.push(decodeValue(state, depth + 1));
      return items;
    }
    case 37: { // %
      const count = parseCount(line);
      if (count < 0) throw new ReplyProtocolError("bad map length");
      const map = new Map<ReplyValue, ReplyValue>();
      for (let i = 0; i < count; i++) {
        const key = decodeValue(state, depth + 1);
        map.set(key, decodeValue(state, depth + 1));
      }
      return map;
    }
    case 124: { // | attribute: skipped, the annotated value follows
      const count = parseCount(line);
      if (count < 0) throw new ReplyProtocolError("bad attribute length");
      for (let i = 0; i < count * 2; i++) decodeValue(state, depth + 1);
      return decodeValue(state, depth);
    }
    default:
      throw new ReplyProtocolError(`unknown reply type byte ${type}`);
  }
}

/** Text after the type byte up to CRLF; advances past the CRLF. */
function readLine(state: DecodeState): string {
  const { buf } = state;
  const from = state.pos + 1;
  for (let i = from; i + 1 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) {
      state.pos = i + 2;
      return decoder.decode(buf.subarray(from, i));
    }
  }
  throw new ReplyProtocolError("incomplete reply");
}

function readBlob(state: DecodeState, len: number): Uint8Array {
  const { buf, pos } = state;
  if (pos + len + 2 > buf.length) throw new ReplyProtocolError("incomplete reply");
  if (buf[pos + len] !== 13 || buf[pos + len + 1] !== 10) {
    throw new ReplyProtocolError("blob not followed by CRLF");
  }
  state.pos = pos + len + 2;
  return buf.subarray(pos, pos + len);
}

function parseCount(text: string): number {
  if (text === "-1") return -1;
  const n = Number(text);
  return text.length > 0 && text.length <= 15 && Number.isInteger(n) && n >= 0 &&
      text.charCodeAt(0) !== 43 && text.charCodeAt(0) !== 32
    ? n
    : -2;
}

function parseBigInt(text: string): bigint {
  if (text.length === 0 || text.length > 400 || text.trim() !== text) {
    throw new ReplyProtocolError(`bad integer ${JSON.stringify(text)}`);
  }
  try {
    return BigInt(text);
  } catch {
    throw new ReplyProtocolError(`bad integer ${JSON.stringify(text)}`);
  }
}

function parseDouble(text: string): number {
  if (text === "inf" || text === "+inf") return Infinity;
  if (text === "-inf") return -Infinity;
  if (text === "nan" || text === "-nan") return NaN;
  const n = Number(text);
  if (text.length === 0 || Number.isNaN(n)) {
    throw new ReplyProtocolError(`bad double ${JSON.stringify(text)}`);
  }
  return n;
}
