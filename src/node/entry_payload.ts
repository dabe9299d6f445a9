/**
 * @module
 * The payload of a normal log entry: the RESP bytes to write to the redis child when the entry
 * is applied, and how many replies they produce (a transaction is MULTI, its commands and EXEC;
 * its client gets the EXEC reply). Layout: `kind u8 | replyCount u32 | RESP bytes`.
 */

export const PayloadKind = { Command: 1, Transaction: 2 } as const;
const headerBytes = 5;

export interface EntryPayload {
  kind: number;
  replyCount: number;
  /** RESP request bytes, a view into the entry's data. */
  commandBytes: Uint8Array;
}

export function encodePayload(kind: number, replyCount: number, commandBytes: Uint8Array) {
  const out = new Uint8Array(headerBytes + commandBytes.length);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, replyCount);
  out.set(commandBytes, headerBytes);
  return out;
}

export function decodePayload(data: Uint8Array): EntryPayload {
  if (data.length < headerBytes) throw new Error(`entry payload too short (${data.length} bytes)`);
  const kind = data[0];
  if (kind !== PayloadKind.Command && kind !== PayloadKind.Transaction) {
    throw new Error(`unknown entry payload kind ${kind}`);
  }
  const replyCount = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  return { kind, replyCount, commandBytes: data.subarray(headerBytes) };
}
