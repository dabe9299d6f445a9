import assert from "node:assert/strict";
import { PendingWrites } from "../../../src/node/pending_requests.ts";
import { ReplyQueue, type ReplySlot } from "../../../src/server/reply_queue.ts";
import { survivorCount } from "../../helpers/collectable.ts";

const text = (slot: ReplySlot) => slot.reply ? new TextDecoder().decode(slot.reply) : undefined;

function slots(count: number): ReplySlot[] {
  const queue = new ReplyQueue(() => Promise.resolve(), () => {});
  return Array.from({ length: count }, () => queue.take());
}

Deno.test("pending writes: taken in index order; a lost term, a truncation and a skip are answered", () => {
  const pending = new PendingWrites();
  const s = slots(6);
  for (let i = 0; i < 6; i++) pending.add(10 + i, 2, s[i], 1000);
  assert.equal(pending.size, 6);
  assert.equal(pending.take(9, 2), undefined, "an entry nobody here proposed");
  assert.equal(pending.take(10, 2), s[0]);
  assert.equal(pending.take(11, 3), undefined, "same index, another term: the proposal was lost");
  assert.equal(text(s[1]), "-TIMEOUT not committed yet\r\n");
  // Index 12 skipped (a snapshot covered it): its outcome is unknown.
  assert.equal(pending.take(13, 2), s[3]);
  assert.match(text(s[2])!, /^-TIMEOUT request timed out; the outcome is unknown/);
  pending.failFrom(15);
  assert.equal(text(s[5]), "-TIMEOUT not committed yet\r\n");
  assert.equal(pending.size, 1);
  pending.expire(999);
  assert.equal(pending.size, 1);
  pending.expire(1000);
  assert.equal(pending.size, 0);
  assert.match(text(s[4])!, /outcome is unknown/);
});

Deno.test("pending writes: many in flight stay in order across compactions", () => {
  const pending = new PendingWrites();
  const s = slots(5000);
  for (let i = 0; i < 5000; i++) pending.add(i + 1, 1, s[i], 1000);
  for (let i = 0; i < 4000; i++) assert.equal(pending.take(i + 1, 1), s[i]);
  const more = slots(10);
  for (let i = 0; i < 10; i++) pending.add(5001 + i, 1, more[i], 1000);
  assert.equal(pending.size, 1010);
  for (let i = 4000; i < 5000; i++) assert.equal(pending.take(i + 1, 1), s[i]);
  assert.equal(pending.take(5001, 1), more[0]);
  pending.failAll("ERR shutting down");
  assert.equal(text(more[9]), "-ERR shutting down\r\n");
  assert.equal(pending.size, 0);
});

Deno.test("pending writes: an add below the tail is kept in order; a duplicate index replaces", () => {
  const pending = new PendingWrites();
  const s = slots(3);
  pending.add(20, 1, s[0], 1000);
  pending.add(15, 1, s[1], 1000);
  pending.add(20, 2, s[2], 1000);
  assert.equal(text(s[0]), "-TIMEOUT not committed yet\r\n");
  assert.equal(pending.take(15, 1), s[1]);
  assert.equal(pending.take(20, 2), s[2]);
  assert.equal(pending.size, 0);
});

Deno.test("pending writes: a taken request is not kept alive by the queue while later ones wait", async () => {
  const pending = new PendingWrites();
  const refs: WeakRef<object>[] = [];
  const later = slots(1)[0];
  (() => {
    const first = slots(1)[0];
    refs.push(new WeakRef(first));
    pending.add(10, 2, first, 1000);
    pending.add(11, 2, later, 1000);
    assert.equal(pending.take(10, 2), first);
  })();
  assert.equal(await survivorCount(refs), 0);
  assert.equal(pending.take(11, 2), later);
});
