/** Unit: CONFIG GET/SET of the peer connection settings under RedisRaft's names. */
import assert from "node:assert/strict";
import { durationMaxMs, parseConfig } from "../../../src/config/config_schema.ts";
import {
  configGet,
  configSet,
  isRaftParam,
  raftParams,
} from "../../../src/node/raft_config_params.ts";

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

Deno.test("memory parameters take Redis's units; counts and sizes the command line refuses are refused", () => {
  const config = parseConfig({ addr: "127.0.0.1:5001" });
  const sizes = [
    ["1kb", 1024],
    ["1k", 1000],
    ["64MB", 64 * 1024 * 1024],
    ["2m", 2_000_000],
    ["1gb", 1024 ** 3],
    ["4096", 4096],
    ["4096b", 4096],
  ] as const;
  for (const [value, bytes] of sizes) {
    assert.equal(configSet(config, "raft.log-max-file-size", value, true), null, value);
    assert.equal(config.logMaxBytes, bytes, value);
    assert.deepEqual(configGet(config, "raft.log-max-file-size", 0), [
      "raft.log-max-file-size",
      String(bytes),
    ]);
  }
  assert.equal(configSet(config, "raft.append-req-max-size", "512kb", true), null);
  assert.equal(config.appendReqMaxBytes, 512 * 1024);
  assert.equal(configSet(config, "raft.snapshot-req-max-size", "128", true), null);
  assert.equal(config.snapshotReqMaxBytes, 128);
  for (const bad of ["", "kb", "1.5mb", "-1", "1tb", "12 mb", "99999999999gb"]) {
    assert.equal(
      configSet(config, "raft.log-max-file-size", bad, true),
      "argument must be a memory value",
      bad,
    );
  }
  assert.equal(config.logMaxBytes, 4096, "a refused value changes nothing");
  // 0 means never for the log (as in RedisRaft); a chunk or a batch of 0 would move nothing.
  assert.equal(configSet(config, "raft.log-max-file-size", "0", true), null);
  assert.equal(config.logMaxBytes, 0);
  assert.equal(
    configSet(config, "raft.snapshot-req-max-size", "0", true),
    "argument must be at least 1",
  );
  assert.equal(
    configSet(config, "raft.append-req-max-size", "0kb", true),
    "argument must be at least 1",
  );
  assert.equal(
    configSet(config, "raft.append-req-max-count", "0", true),
    "argument must be at least 1",
  );
  assert.equal(config.snapshotReqMaxBytes, 128);
  assert.equal(config.appendReqMaxCount, 2);
});

Deno.test("millisecond parameters stop at the longest delay a timer takes", () => {
  const config = parseConfig({ addr: "127.0.0.1:5001" });
  const msParams = Object.entries(raftParams).filter(([, param]) => param.kind === "ms");
  assert.ok(msParams.length >= 8, "every timeout RedisRaft names");
  for (const [name, param] of msParams) {
    const before = config[param.key];
    // (Before init, so that init-only ones are settable too.) A timer given 2^31 ms or more fires at once: a connect timeout of 3000000000 made every
    // peer connection fail after 1 ms.
    for (const tooLong of ["2147483648", "3000000000", "99999999999999999999"]) {
      assert.equal(
        configSet(config, `raft.${name}`, tooLong, false),
        "argument must be at most 2147483647",
        `${name} ${tooLong}`,
      );
      assert.equal(config[param.key], before, name);
    }
    assert.equal(configSet(config, `raft.${name}`, String(durationMaxMs), false), null, name);
    assert.equal(config[param.key], durationMaxMs, name);
  }
  for (const key of ["peerConnectTimeoutMs", "electionTimeoutMs", "logSyncSlowMs"]) {
    assert.throws(
      () => parseConfig({ addr: "127.0.0.1:5001", [key]: 2 ** 31 }),
      /2147483647/,
      key,
    );
  }
});

Deno.test("append-req-max-size and snapshot-req-max-size stay within what fits a follower's bulk string", () => {
  const config = parseConfig({ addr: "127.0.0.1:5001" });
  const halfBytes = config.protoMaxBulkLenBytes / 2;
  assert.equal(
    configSet(config, "raft.append-req-max-size", "1gb", true),
    `argument must be at most ${halfBytes}`,
  );
  assert.equal(config.appendReqMaxBytes, 2 * 1024 * 1024, "a refused value changes nothing");
  assert.equal(configSet(config, "raft.append-req-max-size", String(halfBytes), true), null);
  assert.equal(config.appendReqMaxBytes, halfBytes);
  // A snapshot chunk goes as one bulk string too.
  const chunkRoomBytes = config.protoMaxBulkLenBytes - 64 * 1024;
  assert.equal(
    configSet(config, "raft.snapshot-req-max-size", "1gb", true),
    `argument must be at most ${chunkRoomBytes}`,
  );
  assert.equal(configSet(config, "raft.snapshot-req-max-size", String(chunkRoomBytes), true), null);
  assert.equal(config.snapshotReqMaxBytes, chunkRoomBytes);
  assert.throws(
    () =>
      parseConfig({
        addr: "127.0.0.1:5001",
        protoMaxBulkLenBytes: 1_000_000,
        entryMaxBytes: 100_000,
        writeBatchMaxBytes: 100_000,
      }),
    /appendReqMaxBytes|half of --proto-max-bulk-len-bytes \(500000\)/,
  );
  parseConfig({
    addr: "127.0.0.1:5001",
    protoMaxBulkLenBytes: 1_000_000,
    entryMaxBytes: 100_000,
    writeBatchMaxBytes: 100_000,
    appendReqMaxBytes: 500_000,
  });
});

Deno.test("only RedisRaft's parameter names are parameters: not the object's own properties", () => {
  const config = parseConfig({ addr: "127.0.0.1:5001" });
  for (const name of ["raft.constructor", "raft.__proto__", "raft.hasownproperty", "raft.nosuch"]) {
    assert.equal(isRaftParam(name), false, name);
    assert.equal(configSet(config, name, "5", true), "Unknown option or number of arguments", name);
    assert.deepEqual(configGet(config, name, 0), [], name);
  }
  assert.ok(isRaftParam("RAFT.LogLevel"));
});
