/**
 * Encoding of membership-change entry data: 4-byte big-endian node id, then the
 * UTF-8 address. Used by AddNonVoter, AddVoter and RemoveNode entries.
 *
 * @module
 */

import { assert } from "./assert.ts";
import type { NodeId } from "./types.ts";

export interface MembershipChange {
  readonly nodeId: NodeId;
  readonly addr: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMembershipChange(change: MembershipChange): Uint8Array {
  const addrBytes = encoder.encode(change.addr);
  const out = new Uint8Array(4 + addrBytes.length);
  new DataView(out.buffer).setUint32(0, change.nodeId);
  out.set(addrBytes, 4);
  return out;
}

export function decodeMembershipChange(data: Uint8Array): MembershipChange {
  assert(data.length >= 4, "membership change entry too short");
  const nodeId = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  return { nodeId, addr: decoder.decode(data.subarray(4)) };
}
