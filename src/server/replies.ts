import { concatBytes } from "../resp/bytes.ts";
/**
 * @module
 * One-shot reply encoders for the replies the node builds itself (errors, INFO, RAFT.*).
 * Forwarded child replies never pass through here: they travel as raw frames.
 */
const encoder = new TextEncoder();

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

export const nullBulk: Uint8Array = encoder.encode("$-1\r\n");

export function encodeArrayHeader(count: number): Uint8Array {
  return encoder.encode(`*${count}\r\n`);
}

/** An array reply of bulk strings. */
export function encodeStringArray(items: readonly string[]): Uint8Array {
  return concatBytes([encodeArrayHeader(items.length), ...items.map((item) => encodeBulk(item))]);
}
