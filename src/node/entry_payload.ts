/**
 * @module
 * The payload of a normal log entry: the RESP bytes to write to the redis child when the entry
 * is applied, and how many replies they produce (a transaction is MULTI, its commands and EXEC;
 * its client gets the EXEC reply). A watched transaction also carries the index at which its
 * client watched its keys, and the keys.
 * Layout: `kind u8 | replyCount u32 | [watchIndex f64 | keyCount u32 | (len u32, key)*] | RESP`.
 */

export const PayloadKind = { Command: 1, Transaction: 2, WatchedTransaction: 3 } as const;
const headerBytes = 5;

export interface Watch {
  index: number;
  keys: Uint8Array[];
}

export interface EntryPayload {
  kind: number;
  replyCount: number;
  watch?: Watch;
  /** RESP request bytes, a view into the entry's data. */
  commandBytes: Uint8Array;
}

export function encodePayload(
  kind: number,
  replyCount: number,
  commandBytes: Uint8Array,
  watch?: Watch,
): Uint8Array {
  let watchBytes = 0;
  if (watch) {
    watchBytes = 12;
    for (const key of watch.keys) watchBytes += 4 + key.length;
  }
  const out = new Uint8Array(headerBytes + watchBytes + commandBytes.length);
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
  out.set(commandBytes, offset);
  return out;
}

export function decodePayload(data: Uint8Array): EntryPayload {
  if (data.length < headerBytes) throw new Error(`entry payload too short (${data.length} bytes)`);
  const kind = data[0];
  if (kind < PayloadKind.Command || kind > PayloadKind.WatchedTransaction) {
    throw new Error(`unknown entry payload kind ${kind}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const replyCount = view.getUint32(1);
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
