/**
 * JSON objects carrying their own checksum, for small state files that must fail loudly
 * when damaged: `{...fields, "crc32c": "<8 hex digits>"}` where the checksum covers
 * `JSON.stringify` of the fields in file order. The file stays plain, readable JSON.
 *
 * @module
 */

import { crc32c } from "./crc32c.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeChecksummedJson(fields: Record<string, unknown>): Uint8Array {
  const body = JSON.stringify(fields);
  const checksum = hex(crc32c(encoder.encode(body)));
  return encoder.encode(`${body.slice(0, -1)},"crc32c":"${checksum}"}\n`);
}

/** Throws an Error naming `what` when the bytes are not a valid checksummed object. */
export function decodeChecksummedJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new Error(`${what}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${what}: not a JSON object`);
  }
  const { crc32c: stored, ...fields } = parsed as Record<string, unknown>;
  if (typeof stored !== "string") throw new Error(`${what}: missing crc32c`);
  const actual = hex(crc32c(encoder.encode(JSON.stringify(fields))));
  if (stored !== actual) {
    throw new Error(`${what}: crc32c mismatch (stored ${stored}, computed ${actual})`);
  }
  return fields;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, "0");
}
