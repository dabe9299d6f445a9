/**
 * Unit: a client's subscriptions follow Redis's rules: channels, patterns and shard channels
 * apart, UNSUBSCRIBE with no argument drops its kind only, pub/sub mode ends at zero in all.
 */
import assert from "node:assert/strict";
import { Subscriptions } from "../../../src/server/subscriptions.ts";

const bytes = (...items: string[]) => items.map((item) => new TextEncoder().encode(item));

Deno.test("subscriptions: each kind counts apart and an argument-less unsubscribe clears its own", () => {
  const subscriptions = new Subscriptions();
  subscriptions.apply("subscribe", bytes("SUBSCRIBE", "a", "b", "a"));
  subscriptions.apply("ssubscribe", bytes("SSUBSCRIBE", "a"));
  subscriptions.apply("psubscribe", bytes("PSUBSCRIBE", "a*"));
  assert.equal(subscriptions.total, 4, "a, b; shard a; pattern a*");
  subscriptions.apply("unsubscribe", bytes("UNSUBSCRIBE"));
  assert.equal(subscriptions.total, 2, "channels gone, shard channel and pattern stay");
  subscriptions.apply("sunsubscribe", bytes("SUNSUBSCRIBE", "a", "nosuch"));
  assert.equal(subscriptions.total, 1);
  subscriptions.apply("punsubscribe", bytes("PUNSUBSCRIBE", "b*"));
  assert.equal(subscriptions.total, 1, "an unknown pattern changes nothing");
  subscriptions.apply("punsubscribe", bytes("PUNSUBSCRIBE"));
  assert.equal(subscriptions.total, 0);
});
