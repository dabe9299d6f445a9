/**
 * @module
 * The payload of a normal log entry: the RESP bytes to write to the redis child when the entry
 * is applied, and how many replies they produce (a transaction is MULTI, its commands and EXEC;
 * its client gets the EXEC reply). A watched transaction also carries the index at which its
 * client watched its keys, and the keys.
 * A script entry carries the script's original text, which every node remembers for EVALSHA.
 * A payload the leader stamped carries the time it gave the entry (ms since the epoch), at which
 * every node's child runs the entry (see native/raftclock.c): the kind's high bit is set and the
 * time follows the reply count (0 there: a slot not yet filled, no time).
 * A transaction with scripts (EVAL, EVALSHA) carries their original texts the same way; the
 * kind's 0x40 bit says so.
 * Layout: `kind u8 | replyCount u32 | [timeMs f64] | [watchIndex f64 | keyCount u32 |
 * (len u32, key)*] | [scriptLen u32 | script] | [scriptCount u32 | (len u32, script)*] | RESP`.
 * A Batch holds several clients' one-command writes, each with its own reply:
 * `kind u8 | count u32 | timeMs f64 | count u32 | (len u32, RESP)*`.
 */
import { encodedCommandBytes, writeCommandAt } from "../resp/reply_writer.ts";
import { allocBytes } from "../resp/byte_slab.ts";

export const PayloadKind = {
  Command: 1,
  Transaction: 2,
  WatchedTransaction: 3,
  /** A script to remember (EVAL, SCRIPT LOAD): `script` holds its original text. */
  Script: 4,
  /** SCRIPT FLUSH: forget every script. */
  ScriptFlush: 5,
  /** A blocking command (BLPOP & co); its RESP is the command as the client sent it. */
  Blocking: 6,
  /** The leader ends a blocked client's wait; its RESP bytes are the waiter id in ASCII. */
  BlockedTimeout: 7,
  /** CONFIG SET of replicated child parameters: every node records what its child accepted. */
  ChildConfig: 8,
  /** The leader's time alone (no command): moves the children's clocks when nothing else does. */
  Clock: 9,
  /** Several one-command writes, applied in order, each answered on its own (see WriteBatcher). */
  Batch: 10,
} as const;
const headerBytes = 5;
const timedFlag = 0x80;
const scriptsFlag = 0x40;
const timeBytes = 8;
/** Big-endian f64 conversions through one scratch buffer: no DataView per entry. */
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function writeFloat64(out: Uint8Array, at: number, value: number): void {
  scratch.setFloat64(0, value);
  out.set(scratchBytes, at);
}

function readFloat64(data: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = data[at + i];
  return scratch.getFloat64(0);
}

export interface Watch {
  index: number;
  keys: Uint8Array[];
}

export interface EntryPayload {
  kind: number;
  replyCount: number;
  /** The time the leader gave the entry, when stamped. */
  timeMs?: number;
  watch?: Watch;
  /** Original script text (Script entries); with no RESP bytes it is a SCRIPT LOAD. */
  script?: Uint8Array;
  /** Original texts of a transaction's scripts, in order. */
  scripts?: Uint8Array[];
  /** RESP request bytes, a view into the entry's data. */
  commandBytes: Uint8Array;
  /** A Batch's commands, each one's RESP bytes (views into the entry's data). */
  parts?: Uint8Array[];
}

export function encodePayload(
  kind: number,
  replyCount: number,
  commandBytes: Uint8Array,
  watch?: Watch,
  script?: Uint8Array,
  scripts?: Uint8Array[],
): Uint8Array {
  let watchBytes = 0;
  if (watch) {
    watchBytes = 12;
    for (const key of watch.keys) watchBytes += 4 + key.length;
  }
  let scriptBytes = script ? 4 + script.length : 0;
  const withScripts = scripts !== undefined && scripts.length > 0;
  if (withScripts) {
    scriptBytes += 4;
    for (const text of scripts) scriptBytes += 4 + text.length;
  }
  const out = new Uint8Array(headerBytes + watchBytes + scriptBytes + commandBytes.length);
  out[0] = (watch ? PayloadKind.WatchedTransaction : kind) | (withScripts ? scriptsFlag : 0);
  writeUint32(out, 1, replyCount);
  let offset = headerBytes;
  if (watch) {
    writeFloat64(out, offset, watch.index);
    writeUint32(out, offset + 8, watch.keys.length);
    offset = writeByteStrings(out, offset + 12, watch.keys);
  }
  if (script) {
    writeUint32(out, offset, script.length);
    out.set(script, offset + 4);
    offset += 4 + script.length;
  }
  if (withScripts) {
    writeUint32(out, offset, scripts.length);
    offset = writeByteStrings(out, offset + 4, scripts);
  }
  out.set(commandBytes, offset);
  return out;
}

/**
 * A one-command payload (the common write), encoded straight from the arguments: one buffer,
 * no intermediate RESP copy, with an empty slot for the time the proposal fills in place.
 */
export function encodeCommandPayload(
  kind: number,
  args: readonly (Uint8Array | string)[],
): Uint8Array {
  const out = allocBytes(headerBytes + timeBytes + encodedCommandBytes(args));
  out[0] = kind | timedFlag;
  writeUint32(out, 1, 1);
  out.fill(0, headerBytes, headerBytes + timeBytes);
  writeCommandAt(out, headerBytes + timeBytes, args);
  return out;
}

/** A one-command payload of encodeCommandPayload, not yet stamped: it may join a Batch. */
export function isBatchablePayload(payload: Uint8Array): boolean {
  return payload[0] === (PayloadKind.Command | timedFlag) && readUint32(payload, 1) === 1 &&
    payloadTimeMs(payload) === undefined;
}

/** One Batch payload of batchable payloads, in order, with an empty time slot. */
export function encodeBatchPayload(payloads: readonly Uint8Array[]): Uint8Array {
  const skip = headerBytes + timeBytes;
  let total = skip + 4;
  for (const payload of payloads) total += 4 + payload.length - skip;
  const out = allocBytes(total);
  out[0] = PayloadKind.Batch | timedFlag;
  writeUint32(out, 1, payloads.length);
  out.fill(0, headerBytes, skip);
  writeUint32(out, skip, payloads.length);
  let at = skip + 4;
  for (const payload of payloads) {
    writeUint32(out, at, payload.length - skip);
    out.set(payload.subarray(skip), at + 4);
    at += 4 + payload.length - skip;
  }
  return out;
}

function batchParts(data: Uint8Array, start: number): Uint8Array[] {
  if (start + 4 > data.length) throw new Error("batch count overruns the entry");
  const count = readUint32(data, start);
  const parts: Uint8Array[] = new Array(count);
  let at = start + 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length) throw new Error("batch overruns the entry");
    const length = readUint32(data, at);
    if (at + 4 + length > data.length) throw new Error("batch overruns the entry");
    parts[i] = data.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return parts;
}

/**
 * The payload stamped with `timeMs`: its empty time slot filled in place, or a copy with the
 * time after the header; a payload with a time already keeps it.
 */
export function stampPayload(payload: Uint8Array, timeMs: number): Uint8Array {
  if (payload[0] & timedFlag) {
    if (payloadTimeMs(payload) === undefined) writeFloat64(payload, headerBytes, timeMs);
    return payload;
  }
  const out = allocBytes(payload.length + timeBytes);
  out.set(payload.subarray(0, headerBytes));
  out[0] |= timedFlag;
  writeFloat64(out, headerBytes, timeMs);
  out.set(payload.subarray(headerBytes), headerBytes + timeBytes);
  return out;
}

/** The time a stamped payload carries, or undefined (cheap: reads the header only). */
export function payloadTimeMs(data: Uint8Array): number | undefined {
  if (data.length < headerBytes + timeBytes || !(data[0] & timedFlag)) return undefined;
  const timeMs = readFloat64(data, headerBytes);
  return timeMs === 0 ? undefined : timeMs;
}

export function decodePayload(data: Uint8Array): EntryPayload {
  if (data.length < headerBytes) throw new Error(`entry payload too short (${data.length} bytes)`);
  const kind = data[0] & ~(timedFlag | scriptsFlag);
  if (kind < PayloadKind.Command || kind > PayloadKind.Batch) {
    throw new Error(`unknown entry payload kind ${kind}`);
  }
  const replyCount = readUint32(data, 1);
  const timed = (data[0] & timedFlag) !== 0;
  if (timed && data.length < headerBytes + timeBytes) {
    throw new Error("entry time overruns the entry");
  }
  const timeMs = payloadTimeMs(data);
  const start = timed ? headerBytes + timeBytes : headerBytes;
  if (kind === PayloadKind.Script) {
    const length = readUint32(data, start);
    const end = start + 4 + length;
    if (end > data.length) throw new Error("script overruns the entry");
    return {
      kind,
      replyCount,
      timeMs,
      script: data.subarray(start + 4, end),
      commandBytes: data.subarray(end),
    };
  }
  if (kind === PayloadKind.Batch) {
    return {
      kind,
      replyCount,
      timeMs,
      commandBytes: data.subarray(start),
      parts: batchParts(data, start),
    };
  }
  const withScripts = (data[0] & scriptsFlag) !== 0;
  if (kind !== PayloadKind.WatchedTransaction && !withScripts) {
    return { kind, replyCount, timeMs, commandBytes: data.subarray(start) };
  }
  const payload: EntryPayload = { kind, replyCount, timeMs, commandBytes: data };
  let offset = start;
  if (kind === PayloadKind.WatchedTransaction) {
    const index = readFloat64(data, offset);
    const keyCount = readUint32(data, offset + 8);
    offset += 12;
    const keys = readByteStrings(data, offset, keyCount, "watched keys");
    payload.watch = { index, keys: keys.items };
    offset = keys.end;
  }
  if (withScripts) {
    const scripts = readByteStrings(data, offset + 4, readUint32(data, offset), "scripts");
    payload.scripts = scripts.items;
    offset = scripts.end;
  }
  payload.commandBytes = data.subarray(offset);
  return payload;
}

/** `count` strings of `(len u32, bytes)` from `offset` (views), and the offset after them. */
function readByteStrings(data: Uint8Array, offset: number, count: number, what: string) {
  const items: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = readUint32(data, offset);
    if (offset + 4 + length > data.length) throw new Error(`${what} overrun the entry`);
    items.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { items, end: offset };
}

/** Writes `items` as `(len u32, bytes)` at `offset`; returns the offset after them. */
function writeByteStrings(out: Uint8Array, offset: number, items: readonly Uint8Array[]): number {
  for (const item of items) {
    writeUint32(out, offset, item.length);
    out.set(item, offset + 4);
    offset += 4 + item.length;
  }
  return offset;
}

// Big-endian u32 by hand: a DataView over a small on-heap array would move it off the heap.
function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

function readUint32(data: Uint8Array, at: number): number {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
}
