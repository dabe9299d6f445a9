/**
 * @module
 * Binary encoding of Raft messages for the peer link (the payload of `RAFT.MSG`). Compact and
 * strict: every field is bounds-checked on decode, sizes are limited, unknown types and
 * trailing bytes are errors. Snapshot chunks carry their bytes after the message fields.
 */
import {
  type Entry,
  type EntryType,
  type Member,
  type Membership,
  type Message,
  MessageType,
  type SnapshotMeta,
} from "../raft/mod.ts";
import { allocBytes } from "../resp/byte_slab.ts";
import { WRITE_COPY_MAX_BYTES } from "../resp/bytes.ts";
import { BinaryReader, BinaryWriter, DecodeError } from "./binary_buffer.ts";

export { DecodeError };

export interface CodecLimits {
  /** Largest entry payload accepted from a peer. */
  entryMaxBytes: number;
  /** Most entries in one AppendEntries. */
  entriesMaxCount: number;
  /** Largest snapshot chunk accepted. */
  chunkMaxBytes: number;
}

const addrMaxBytes = 1024;
const membersMaxCount = 10_000;

/** A message with, for InstallSnapshot, its chunk of snapshot bytes. */
export interface WireMessage {
  message: Message;
  chunk?: Uint8Array;
}

function writeMeta(w: BinaryWriter, meta: SnapshotMeta): void {
  w.u53(meta.index);
  w.u53(meta.term);
  w.u53(meta.sizeBytes);
  w.u32(meta.membership.members.length);
  for (const member of meta.membership.members) {
    w.u32(member.id);
    w.u8(member.voter ? 1 : 0);
    w.string(member.addr);
  }
  w.u32(meta.membership.usedNodeIds.length);
  for (const id of meta.membership.usedNodeIds) w.u32(id);
}

function readMeta(r: BinaryReader): SnapshotMeta {
  const index = r.u53();
  const term = r.u53();
  const sizeBytes = r.u53();
  const memberCount = r.u32();
  if (memberCount > membersMaxCount) throw new DecodeError("too many members");
  const members: Member[] = [];
  for (let i = 0; i < memberCount; i++) {
    const id = r.u32();
    const voter = r.bool();
    members.push({ id, voter, addr: r.string(addrMaxBytes) });
  }
  const usedCount = r.u32();
  if (usedCount > membersMaxCount * 100) throw new DecodeError("too many used node ids");
  const usedNodeIds: number[] = [];
  for (let i = 0; i < usedCount; i++) usedNodeIds.push(r.u32());
  const membership: Membership = { members, usedNodeIds };
  return { index, term, sizeBytes, membership };
}

/** An entry's index, term, type and length fields in an AppendEntries message. */
const entryFramingBytes = 8 + 8 + 1 + 4;

/** Bytes of `data` a writer holds: none when it goes by reference. */
function copiedBytes(data: Uint8Array, referenceMinBytes: number): number {
  return data.length < referenceMinBytes ? data.length : 0;
}

function writeBytes(w: BinaryWriter, data: Uint8Array, referenceMinBytes: number): void {
  if (data.length < referenceMinBytes) w.bytesWithLength(data);
  else w.bytesWithLengthByReference(data);
}

export function encodeMessage(message: Message, chunk?: Uint8Array): Uint8Array {
  return writeMessage(message, chunk).finish();
}

/**
 * `message` (with a snapshot's `chunk`) in a writer that leaves `headroomBytes` free before it,
 * for a caller that frames it in place; entries (and a chunk) of `referenceMinBytes` or more are
 * written by reference, not copied.
 */
export function writeMessage(
  message: Message,
  chunk?: Uint8Array,
  headroomBytes = 0,
  referenceMinBytes = Infinity,
): BinaryWriter {
  // Sized to hold the whole message and a frame's trailer: growing would copy the entries.
  let initialBytes = 80;
  if (message.type === MessageType.AppendEntries) {
    for (const entry of message.entries) {
      initialBytes += entryFramingBytes + copiedBytes(entry.data, referenceMinBytes);
    }
  } else if (message.type === MessageType.InstallSnapshot && chunk) {
    initialBytes += 1024 + copiedBytes(chunk, referenceMinBytes);
  }
  const w = new BinaryWriter(initialBytes, headroomBytes);
  w.u8(message.type);
  w.u32(message.from);
  w.u32(message.to);
  w.u53(message.term);
  switch (message.type) {
    case MessageType.AppendEntries:
      w.u53(message.prevIndex);
      w.u53(message.prevTerm);
      w.u53(message.commit);
      w.u32(message.entries.length);
      for (const entry of message.entries) {
        w.u53(entry.index);
        w.u53(entry.term);
        w.u8(entry.type);
        writeBytes(w, entry.data, referenceMinBytes);
      }
      break;
    case MessageType.AppendEntriesResponse:
      w.u8(message.success ? 1 : 0);
      w.u53(message.index);
      w.u53(message.lastIndex);
      w.u53(message.conflictTerm);
      w.u53(message.conflictIndex);
      break;
    case MessageType.RequestVote:
      w.u8(message.preVote ? 1 : 0);
      w.u8(message.transfer ? 1 : 0);
      w.u53(message.lastIndex);
      w.u53(message.lastTerm);
      break;
    case MessageType.RequestVoteResponse:
      w.u8(message.preVote ? 1 : 0);
      w.u8(message.granted ? 1 : 0);
      break;
    case MessageType.Heartbeat:
      w.u53(message.commit);
      w.u53(message.readSeq);
      break;
    case MessageType.HeartbeatResponse:
      w.u53(message.readSeq);
      w.u53(message.lastIndex);
      break;
    case MessageType.TimeoutNow:
      break;
    case MessageType.InstallSnapshot:
      writeMeta(w, message.meta);
      w.u53(message.offsetBytes);
      w.u53(message.lengthBytes);
      w.u8(message.last ? 1 : 0);
      writeBytes(w, chunk ?? new Uint8Array(0), referenceMinBytes);
      break;
    case MessageType.InstallSnapshotResponse:
      w.u53(message.snapshotIndex);
      w.u53(message.nextOffsetBytes);
      w.u8(message.rejected ? 1 : 0);
      w.u8(message.done ? 1 : 0);
      break;
  }
  return w;
}

/**
 * An entry's bytes to keep: entries outlive the network buffer (they go to the log and the
 * core), which is never written again once parsed. A small entry is copied (into a shared slab:
 * one backing store per entry showed up in followers' profiles), or it would pin the whole
 * buffer; a large one that fills most of its buffer is kept as it is (copying megabytes into
 * fresh memory stalls the node far longer than the few bytes it pins).
 */
function ownedEntryData(view: Uint8Array): Uint8Array {
  if (view.length >= WRITE_COPY_MAX_BYTES && view.length * 2 >= view.buffer.byteLength) {
    return view;
  }
  const data = allocBytes(view.length);
  data.set(view);
  return data;
}

export function decodeMessage(bytes: Uint8Array, limits: CodecLimits): WireMessage {
  const r = new BinaryReader(bytes);
  const type = r.u8();
  const from = r.u32();
  const to = r.u32();
  const term = r.u53();
  let result: WireMessage;
  switch (type) {
    case MessageType.AppendEntries: {
      const prevIndex = r.u53();
      const prevTerm = r.u53();
      const commit = r.u53();
      const count = r.u32();
      if (count > limits.entriesMaxCount) throw new DecodeError(`too many entries (${count})`);
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const index = r.u53();
        const entryTerm = r.u53();
        const entryType = r.u8();
        if (entryType > 4) throw new DecodeError(`unknown entry type ${entryType}`);
        const data = ownedEntryData(r.bytesWithLength(limits.entryMaxBytes));
        entries.push({ index, term: entryTerm, type: entryType as EntryType, data });
      }
      result = { message: { type, from, to, term, prevIndex, prevTerm, commit, entries } };
      break;
    }
    case MessageType.AppendEntriesResponse:
      result = {
        message: {
          type,
          from,
          to,
          term,
          success: r.bool(),
          index: r.u53(),
          lastIndex: r.u53(),
          conflictTerm: r.u53(),
          conflictIndex: r.u53(),
        },
      }; // deno-fmt-ignore
      break;
    case MessageType.RequestVote:
      result = {
        message: {
          type,
          from,
          to,
          term,
          preVote: r.bool(),
          transfer: r.bool(),
          lastIndex: r.u53(),
          lastTerm: r.u53(),
        },
      }; // deno-fmt-ignore
      break;
    case MessageType.RequestVoteResponse:
      result = { message: { type, from, to, term, preVote: r.bool(), granted: r.bool() } };
      break;
    case MessageType.Heartbeat:
      result = { message: { type, from, to, term, commit: r.u53(), readSeq: r.u53() } };
      break;
    case MessageType.HeartbeatResponse:
      result = { message: { type, from, to, term, readSeq: r.u53(), lastIndex: r.u53() } };
      break;
    case MessageType.TimeoutNow:
      result = { message: { type, from, to, term } };
      break;
    case MessageType.InstallSnapshot: {
      const meta = readMeta(r);
      const offsetBytes = r.u53();
      const lengthBytes = r.u53();
      const last = r.bool();
      const chunk = r.bytesWithLength(limits.chunkMaxBytes);
      if (chunk.length !== lengthBytes) throw new DecodeError("snapshot chunk length mismatch");
      result = { message: { type, from, to, term, meta, offsetBytes, lengthBytes, last }, chunk };
      break;
    }
    case MessageType.InstallSnapshotResponse:
      result = {
        message: {
          type,
          from,
          to,
          term,
          snapshotIndex: r.u53(),
          nextOffsetBytes: r.u53(),
          rejected: r.bool(),
          done: r.bool(),
        },
      }; // deno-fmt-ignore
      break;
    default:
      throw new DecodeError(`unknown peer message type ${type}`);
  }
  r.end();
  return result;
}
