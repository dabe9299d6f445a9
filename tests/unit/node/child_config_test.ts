/** Unit: which CONFIG SETs are replicated, and the values a snapshot carries to a new child. */
import assert from "node:assert/strict";
import { ChildConfig, isReplicatedConfigSet } from "../../../src/node/child_config.ts";

const args = (...parts: string[]) => parts.map((p) => new TextEncoder().encode(p));

Deno.test("isReplicatedConfigSet: only SET, whole pairs, every parameter on the list", () => {
  assert.ok(isReplicatedConfigSet(args("CONFIG", "SET", "notify-keyspace-events", "KEA")));
  assert.ok(
    isReplicatedConfigSet(args("config", "set", "Slowlog-Max-Len", "7", "hz", "1")) === false,
  );
  assert.ok(!isReplicatedConfigSet(args("CONFIG", "SET", "maxmemory", "1")));
  assert.ok(!isReplicatedConfigSet(args("CONFIG", "SET", "notify-keyspace-events")), "odd arity");
  assert.ok(!isReplicatedConfigSet(args("CONFIG", "GET", "notify-keyspace-events", "x")));
});

Deno.test("ChildConfig: accepted values become start arguments; a snapshot's foreign names are dropped", () => {
  const config = new ChildConfig();
  config.accepted(args("CONFIG", "SET", "Notify-Keyspace-Events", "", "slowlog-max-len", "7"));
  config.accepted(args("CONFIG", "SET", "slowlog-max-len", "9"));
  assert.deepEqual(config.toJSON(), { "notify-keyspace-events": "", "slowlog-max-len": "9" });
  assert.deepEqual(config.startArgs(), ["--notify-keyspace-events", "", "--slowlog-max-len", "9"]);
  assert.deepEqual(
    ChildConfig.startArgsOf({ "slowlog-max-len": "9", dir: "/tmp", "list-compress-depth": 2 }),
    ["--slowlog-max-len", "9"],
    "names off the list and non-string values are not taken",
  );
  assert.deepEqual(ChildConfig.startArgsOf(undefined), []);
});
