import assert from "node:assert/strict";
import { type PendingRead, ReadBarrier } from "../../../src/node/read_barrier.ts";
import { ReplyQueue, type ReplySlot } from "../../../src/server/reply_queue.ts";
import type { CommandParts } from "../../../src/redis/pipelined_connection.ts";
import { concatBytes } from "../../../src/resp/bytes.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (slot: ReplySlot) => slot.reply ? new TextDecoder().decode(slot.reply) : undefined;
const microtasks = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A command's bytes, whether in one buffer or in parts. */
function concatParts(command: CommandParts): Uint8Array {
  return command instanceof Uint8Array ? command : concatBytes(command);
}

/** A barrier whose child replies are held in `sent` until the test answers them. */
function harness() {
  const rounds: number[] = [];
  const sent: { command: string; reply: (frame: Uint8Array) => void }[] = [];
  const barrier = new ReadBarrier(
    (requestId) => rounds.push(requestId),
    (read, reply) =>
      sent.push({ command: new TextDecoder().decode(concatParts(read.commandBytes)), reply }),
  );
  const queue = new ReplyQueue(() => Promise.resolve(), () => {});
  let dispatchedCount = 0;
  const read = (command: string, minIndex = 0, deadlineMs = 10_000): PendingRead => ({
    commandBytes: bytes(command),
    replyCount: 1,
    slot: queue.take(),
    deadlineMs,
    minIndex,
    dispatched: () => dispatchedCount++,
  });
  return { barrier, rounds, sent, read, dispatched: () => dispatchedCount };
}

Deno.test("read barrier: with everything committed applied, a read runs at once and its reply waits for the round", async () => {
  const h = harness();
  const early = h.read("GET a");
  const late = h.read("GET b");
  h.barrier.add(early, 10, 10);
  assert.deepEqual(h.sent.map((s) => s.command), ["GET a"], "sent before any round");
  assert.equal(h.dispatched(), 1);
  await microtasks();
  assert.deepEqual(h.rounds, [1]);
  h.sent[0].reply(bytes("$1\r\nx\r\n"));
  assert.equal(early.slot.done, false, "held until the round confirms");
  // A second read arrives after the first's reply and confirms with round 2; reply after confirm.
  h.barrier.add(late, 10, 10);
  await microtasks();
  h.barrier.confirm(1, 10, 10);
  assert.equal(text(early.slot), "$1\r\nx\r\n");
  h.barrier.confirm(2, 10, 10);
  assert.equal(late.slot.done, false, "its reply has not come yet");
  h.sent[1].reply(bytes("$-1\r\n"));
  assert.equal(text(late.slot), "$-1\r\n");
  assert.equal(h.dispatched(), 2);
});

Deno.test("read barrier: a failed round answers its error and drops the held reply", async () => {
  const h = harness();
  const read = h.read("GET a");
  h.barrier.add(read, 5, 7);
  await microtasks();
  h.sent[0].reply(bytes("$3\r\nold\r\n"));
  h.barrier.fail(1, "TIMEOUT no quorum for read");
  assert.equal(text(read.slot), "-TIMEOUT no quorum for read\r\n");
  assert.equal(h.dispatched(), 1, "dispatched once, when it was sent");
  const expiring = h.read("GET b", 0, 100);
  h.barrier.add(expiring, 5, 7);
  await microtasks();
  h.barrier.expire(100);
  h.sent[1].reply(bytes("$3\r\nold\r\n"));
  assert.match(text(expiring.slot)!, /^-TIMEOUT/);
  h.barrier.confirm(2, 5, 7);
  assert.match(text(expiring.slot)!, /^-TIMEOUT/);
  assert.equal(h.dispatched(), 2);
});

Deno.test("read barrier: a read behind the commit index or its own floor waits for the round and the apply", async () => {
  const h = harness();
  const behindCommit = h.read("GET a");
  const behindFloor = h.read("GET b", 12);
  h.barrier.add(behindCommit, 11, 10);
  h.barrier.add(behindFloor, 10, 10);
  await microtasks();
  assert.equal(h.sent.length, 0, "nothing runs before its round and index");
  assert.equal(h.dispatched(), 0);
  h.barrier.confirm(1, 11, 10);
  assert.equal(h.sent.length, 0);
  h.barrier.applied(11);
  assert.deepEqual(h.sent.map((s) => s.command), ["GET a"]);
  h.barrier.applied(12);
  assert.deepEqual(h.sent.map((s) => s.command), ["GET a", "GET b"]);
  h.sent[0].reply(bytes(":1\r\n"));
  assert.equal(text(behindCommit.slot), ":1\r\n");
  assert.equal(h.dispatched(), 2);
});

Deno.test("read barrier: failAll answers every read once, held or waiting", async () => {
  const h = harness();
  const held = h.read("GET a");
  const waiting = h.read("GET b", 20);
  h.barrier.add(held, 3, 3);
  h.barrier.add(waiting, 3, 3);
  await microtasks();
  h.barrier.failAll("MOVED 0 127.0.0.1:1");
  h.sent[0].reply(bytes("$1\r\nx\r\n"));
  assert.equal(text(held.slot), "-MOVED 0 127.0.0.1:1\r\n");
  assert.equal(text(waiting.slot), "-MOVED 0 127.0.0.1:1\r\n");
  assert.equal(h.dispatched(), 2);
  assert.equal(h.barrier.pendingCount, 0);
});
