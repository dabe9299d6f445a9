/** Unit: PeerProgressAck acknowledges every arrival within its interval, at most once per interval. */
import assert from "node:assert/strict";
import { PeerProgressAck } from "../../../src/server/peer_progress_ack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("PeerProgressAck answers at once, then at most once per interval, never leaving bytes unanswered", async () => {
  let acks = 0;
  const ack = new PeerProgressAck(() => acks++, -Infinity, 100);
  try {
    ack.received(performance.now());
    assert.equal(acks, 1, "the first arrival at once");
    ack.received(performance.now());
    ack.received(performance.now());
    assert.equal(acks, 1, "arrivals within the interval wait");
    await sleep(160);
    assert.equal(acks, 2, "one ack when the interval is up covers them");
    await sleep(160);
    assert.equal(acks, 2, "no arrivals, no acks");
    ack.received(performance.now());
    assert.equal(acks, 3, "after a quiet interval, at once again");
    ack.received(performance.now());
    ack.close();
    await sleep(160);
    assert.equal(acks, 3, "closed: the due ack is not sent");
  } finally {
    ack.close();
  }
});

Deno.test("PeerProgressAck counts RAFT.HELLO's reply as the first ack", async () => {
  let acks = 0;
  const ack = new PeerProgressAck(() => acks++, performance.now(), 100);
  try {
    ack.received(performance.now());
    assert.equal(acks, 0, "the hello was just answered");
    await sleep(160);
    assert.equal(acks, 1);
  } finally {
    ack.close();
  }
});
