/**
 * @module
 * The payload of a normal log entry: the RESP bytes to write to the redis child when the entry
 * is applied, and how many replies they produce (a transaction is MULTI, its commands and EXEC;
 * its client gets the EXEC reply). A watched transaction also carries the index at which its
 * client watched its keys, and the keys.
 * A script entry carries the script's original text, which every node remembers for EVALSHA.
 * Layout: `kind u8 | replyCount u32 | [watchIndex f64 | keyCount u32 | (len u32, key)*]
 * | [scriptLen u32 | script] | RESP`.
 */

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
} as const;
const headerBytes = 5;

export interface Watch {
  index: number;
  keys: Uint8Array[];
}

export interface EntryPayload {
  kind: number;
  replyCount: number;
  watch?: Watch;
  /** Original script text (Script entries); with no RESP bytes it is a SCRIPT LOAD. */
  script?: Uint8Array;
  /** RESP request bytes, a view into the entry's data. */
  commandBytes: Uint8Array;
}

export function encodePayload(
  kind: number,
  replyCount: number,
  commandBytes: Uint8Array,
  watch?: Watch,
  script?: Uint8Array,
): Uint8Array {
  let watchBytes = 0;
  if (watch) {
    watchBytes = 12;
    for (const key of watch.keys) watchBytes += 4 + key.length;
  }
  const scriptBytes = script ? 4 + script.length : 0;
  const out = new Uint8Array(headerBytes + watchBytes + scriptBytes + commandBytes.length);
  const view = new DataView(out.buffer);
  out[0] = watch ? PayloadKind.WatchedTransaction : kind;
  view.setUint32(1, replyCount);
  let offset = headerBytes;
  if (watch) {
    view.setFloat64(offset, watch.index);
    view.setUint32(offset + 8, watch.keys.length);
    offset += 12;
    for (const key of watch.keys) {
      view.setUint32(offset, key.length);
      out.set(key, offset + 4);
      offset += 4 + key.length;
    }
  }
  if (script) {
    view.setUint32(offset, script.length);
    out.set(script, offset + 4);
    offset += 4 + script.length;
  }
  out.set(commandBytes, offset);
  return out;
}

export function decodePayload(data: Uint8Array): EntryPayload {
  if (data.length < headerBytes) throw new Error(`entry payload too short (${data.length} bytes)`);
  const kind = data[0];
  if (kind < PayloadKind.Command || kind > PayloadKind.BlockedTimeout) {
    throw new Error(`unknown entry payload kind ${kind}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const replyCount = view.getUint32(1);
  if (kind === PayloadKind.Script) {
    const length = view.getUint32(headerBytes);
    const end = headerBytes + 4 + length;
    if (end > data.length) throw new Error("script overruns the entry");
    return {
      kind,
      replyCount,
      script: data.subarray(headerBytes + 4, end),
      commandBytes: data.subarray(end),
    };
  }
  if (kind !== PayloadKind.WatchedTransaction) {
    return { kind, replyCount, commandBytes: data.subarray(headerBytes) };
  }
  let offset = headerBytes;
  const index = view.getFloat64(offset);
  const keyCount = view.getUint32(offset + 8);
  offset += 12;
  const keys: Uint8Array[] = [];
  for (let i = 0; i < keyCount; i++) {
    const length = view.getUint32(offset);
    if (offset + 4 + length > data.length) throw new Error("watched keys overrun the entry");
    keys.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { kind, replyCount, watch: { index, keys }, commandBytes: data.subarray(offset) };
}
