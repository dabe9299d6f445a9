/** Unit: CONFIG GET/SET of the peer connection settings under RedisRaft's names. */
import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/config_schema.ts";
import { configGet, configSet } from "../../../src/node/raft_config_params.ts";

Deno.test("raft.response-timeout, connection-timeout and reconnect-interval map onto the peer settings", () => {
  const config = parseConfig({ addr: "127.0.0.1:5001" });
  assert.deepEqual(configGet(config, "raft.*-timeout", 0).slice(-4), [
    "raft.connection-timeout",
    "3000",
    "raft.response-timeout",
    "1000",
  ]);
  assert.deepEqual(configGet(config, "raft.reconnect-interval", 0), [
    "raft.reconnect-interval",
    "100",
  ]);
  assert.equal(configSet(config, "raft.reconnect-interval", "250", true), null);
  assert.equal(config.peerReconnectMinMs, 250);
  assert.equal(configSet(config, "raft.response-timeout", "2500", true), null);
  assert.equal(config.peerResponseTimeoutMs, 2500);
  assert.equal(configSet(config, "raft.connection-timeout", "700", true), null);
  assert.equal(config.peerConnectTimeoutMs, 700);
  // Peers acknowledge at most every 100 ms: a shorter timeout would drop healthy links.
  assert.equal(
    configSet(config, "raft.response-timeout", "100", true),
    "argument must be at least 300 (milliseconds)",
  );
  assert.equal(config.peerResponseTimeoutMs, 2500);
  assert.throws(
    () => parseConfig({ addr: "127.0.0.1:5001", peerResponseTimeoutMs: 100 }),
    /300/,
  );
});
