/** Unit: peer message encoding round-trips every message type and rejects hostile bytes. */
import assert from "node:assert/strict";
import { type Message, MessageType } from "../../../src/raft/mod.ts";
import {
  DecodeError,
  decodeMessage,
  encodeMessage,
  writeMessage,
} from "../../../src/peer/message_codec.ts";

const limits = { entryMaxBytes: 1 << 20, entriesMaxCount: 1000, chunkMaxBytes: 1 << 16 };
const meta = {
  index: 2 ** 40 + 7,
  term: 9,
  sizeBytes: 12345,
  membership: {
    members: [{ id: 1, addr: "127.0.0.1:5001", voter: true }, { id: 7, addr: "h:2", voter: false }],
    usedNodeIds: [1, 3, 7],
  },
};

const samples: Message[] = [
  {
    type: MessageType.AppendEntries,
    from: 1,
    to: 2,
    term: 5,
    prevIndex: 10,
    prevTerm: 4,
    commit: 9,
    entries: [
      { index: 11, term: 5, type: 0, data: new Uint8Array([1, 2, 3]) },
      { index: 12, term: 5, type: 4, data: new Uint8Array(0) },
    ],
  },
  {
    type: MessageType.AppendEntriesResponse,
    from: 2,
    to: 1,
    term: 5,
    success: false,
    index: 10,
    lastIndex: 8,
    conflictTerm: 3,
    conflictIndex: 6,
  },
  {
    type: MessageType.RequestVote,
    from: 3,
    to: 1,
    term: 6,
    preVote: true,
    transfer: false,
    lastIndex: 12,
    lastTerm: 5,
  },
  { type: MessageType.RequestVoteResponse, from: 1, to: 3, term: 6, preVote: true, granted: true },
  { type: MessageType.Heartbeat, from: 1, to: 2, term: 5, commit: 12, readSeq: 99 },
  {
    type: MessageType.HeartbeatResponse,
    from: 2,
    to: 1,
    term: 5,
    readSeq: 99,
    lastIndex: 2 ** 40 + 3,
  },
  { type: MessageType.TimeoutNow, from: 1, to: 2, term: 5 },
  {
    type: MessageType.InstallSnapshotResponse,
    from: 2,
    to: 1,
    term: 5,
    snapshotIndex: 100,
    nextOffsetBytes: 4096,
    rejected: true,
    done: false,
  },
]; // deno-fmt-ignore

Deno.test("every message type round-trips", () => {
  for (const message of samples) {
    assert.deepEqual(decodeMessage(encodeMessage(message), limits).message, message);
  }
  const chunk = new Uint8Array([9, 8, 7, 6]);
  const snapshot: Message = {
    type: MessageType.InstallSnapshot, from: 1, to: 2, term: 5, meta, offsetBytes: 65536,
    lengthBytes: 4, last: true,
  }; // deno-fmt-ignore
  const decoded = decodeMessage(encodeMessage(snapshot, chunk), limits);
  assert.deepEqual(decoded.message, snapshot);
  assert.deepEqual(decoded.chunk, chunk);
});

Deno.test("truncated, oversized, unknown and trailing input is a DecodeError, never a crash", () => {
  const bytes = encodeMessage(samples[0]);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(
      () => decodeMessage(bytes.subarray(0, cut), limits),
      DecodeError,
      `cut at ${cut}`,
    );
  }
  assert.throws(() => decodeMessage(new Uint8Array([...bytes, 0]), limits), DecodeError);
  assert.throws(() => decodeMessage(new Uint8Array([77, 0, 0, 0, 1]), limits), DecodeError);
  assert.throws(
    () => decodeMessage(bytes, { ...limits, entryMaxBytes: 2 }),
    /exceeds/,
  );
  assert.throws(() => decodeMessage(bytes, { ...limits, entriesMaxCount: 1 }), /too many entries/);
  let seed = 42;
  for (let i = 0; i < 2000; i++) {
    const junk = new Uint8Array(1 + (i % 64));
    for (let j = 0; j < junk.length; j++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      junk[j] = seed & 0xff;
    }
    try {
      decodeMessage(junk, limits);
    } catch (error) {
      assert.ok(error instanceof DecodeError, `junk ${i}: ${error}`);
    }
  }
});

Deno.test("every message type rejects a truncated or extended encoding", () => {
  for (const message of samples) {
    const bytes = encodeMessage(message);
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(
        () => decodeMessage(bytes.subarray(0, cut), limits),
        DecodeError,
        `type ${message.type} cut at ${cut}`,
      );
    }
    assert.throws(() => decodeMessage(new Uint8Array([...bytes, 0]), limits), DecodeError);
  }
});

Deno.test("a heartbeat response's last index is range-checked", () => {
  const response: Message = {
    type: MessageType.HeartbeatResponse,
    from: 2,
    to: 1,
    term: 5,
    readSeq: 1,
    lastIndex: 7,
  }; // deno-fmt-ignore
  const bytes = encodeMessage(response);
  bytes[bytes.length - 8] = 0xff; // high word of lastIndex beyond 2^53
  assert.throws(() => decodeMessage(bytes, limits), /out of range/);
});

Deno.test("large entries: written by reference, decoded as views of the message", () => {
  const big = new Uint8Array(100 * 1024).map((_, i) => i % 253);
  const message: Message = {
    type: MessageType.AppendEntries,
    from: 1,
    to: 2,
    term: 5,
    prevIndex: 1,
    prevTerm: 1,
    commit: 1,
    entries: [
      { index: 2, term: 5, type: 0, data: big },
      { index: 3, term: 5, type: 0, data: new Uint8Array([7, 7]) },
    ],
  }; // deno-fmt-ignore
  const bytes = writeMessage(message, undefined, 0, 1024).finish();
  assert.deepEqual(bytes, encodeMessage(message), "the same bytes as copying");
  const decoded = decodeMessage(bytes, limits).message as typeof message;
  assert.deepEqual(decoded, message);
  assert.equal(decoded.entries[0].data.buffer, bytes.buffer, "a large entry is a view");
  assert.notEqual(decoded.entries[1].data.buffer, bytes.buffer, "a small one is copied out");
});
