import { concatBytes } from "../resp/bytes.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import { REPLY_NULL_ARRAY, REPLY_NULL_BULK } from "../resp/reply_writer.ts";
/**
 * @module
 * One-shot reply encoders for the replies the node builds itself (errors, INFO, RAFT.*), in the
 * client's protocol where RESP2 and RESP3 differ (nulls, maps, verbatim text) as Redis 7.0 does.
 * Forwarded child replies never pass through here: they travel as raw frames.
 */
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

export function encodeSimple(text: string): Uint8Array {
  return encoder.encode(`+${text}\r\n`);
}

export function encodeError(text: string): Uint8Array {
  return encoder.encode(`-${text}\r\n`);
}

export function encodeInteger(n: number): Uint8Array {
  return encoder.encode(`:${n}\r\n`);
}

export function encodeBulk(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  const header = encoder.encode(`$${bytes.length}\r\n`);
  const out = new Uint8Array(header.length + bytes.length + 2);
  out.set(header);
  out.set(bytes, header.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** RESP3's one null, which stands for both of RESP2's. */
const resp3Null: Uint8Array = encoder.encode("_\r\n");

/** A null bulk string in `protocol`. */
export function nullBulkFor(protocol: RespProtocol): Uint8Array {
  return protocol === 3 ? resp3Null : REPLY_NULL_BULK;
}

/** A null array in `protocol` (EXEC aborted, a blocking pop timed out). */
export function nullArrayFor(protocol: RespProtocol): Uint8Array {
  return protocol === 3 ? resp3Null : REPLY_NULL_ARRAY;
}

/**
 * Free text (INFO, CLIENT LIST, CLUSTER NODES): a bulk string, in RESP3 a verbatim string of
 * format `txt` as Redis answers.
 */
export function encodeText(text: string, protocol: RespProtocol): Uint8Array {
  if (protocol === 2) return encodeBulk(text);
  const bytes = encoder.encode(text);
  return concatBytes([encoder.encode(`=${bytes.length + 4}\r\ntxt:`), bytes, CRLF]);
}

/** Field/value pairs (CONFIG GET): a flat array, in RESP3 a map. */
export function encodeStringPairs(pairs: readonly string[], protocol: RespProtocol): Uint8Array {
  if (protocol === 2) return encodeStringArray(pairs);
  const header = encoder.encode(`%${pairs.length / 2}\r\n`);
  return concatBytes([header, ...pairs.map((item) => encodeBulk(item))]);
}

/** The header of a map of `count` pairs: a flat array of 2×count in RESP2. */
export function encodeMapHeader(count: number, protocol: RespProtocol): Uint8Array {
  return encoder.encode(protocol === 3 ? `%${count}\r\n` : `*${count * 2}\r\n`);
}

export function encodeArrayHeader(count: number): Uint8Array {
  return encoder.encode(`*${count}\r\n`);
}

/** An array reply of bulk strings. */
export function encodeStringArray(items: readonly string[]): Uint8Array {
  return concatBytes([encodeArrayHeader(items.length), ...items.map((item) => encodeBulk(item))]);
}

/** The header of a RESP3 push of `count` items (invalidations, pub/sub messages). */
export function encodePushHeader(count: number): Uint8Array {
  return encoder.encode(`>${count}\r\n`);
}

/** The header of a set of `count` items: an array in RESP2. */
export function encodeSetHeader(count: number, protocol: RespProtocol): Uint8Array {
  return encoder.encode(protocol === 3 ? `~${count}\r\n` : `*${count}\r\n`);
}
