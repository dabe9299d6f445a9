import assert from "node:assert/strict";
import {
  decodePayload,
  encodeBatchPayload,
  encodeCommandPayload,
  encodePayload,
  isBatchablePayload,
  PayloadKind,
  payloadTimeMs,
  stampPayload,
} from "../../../src/node/entry_payload.ts";
import { encodeCommand } from "../../../src/resp/mod.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const big = new Uint8Array(70_000).fill(120);

Deno.test("a command payload holds the RESP command; both encoders agree", () => {
  for (const args of [["SET", "k", "v"], ["SET", "ключ", big], ["PING"]]) {
    const fromArgs = encodeCommandPayload(PayloadKind.Command, args);
    const copied = stampPayload(encodePayload(PayloadKind.Command, 1, encodeCommand(args)), 5);
    assert.equal(payloadTimeMs(fromArgs), undefined, "an empty time slot");
    assert.equal(stampPayload(fromArgs, 5), fromArgs, "filled in place");
    assert.deepEqual(fromArgs, copied);
    const decoded = decodePayload(fromArgs);
    assert.equal(decoded.kind, PayloadKind.Command);
    assert.equal(decoded.replyCount, 1);
    assert.deepEqual(decoded.commandBytes, encodeCommand(args));
  }
});

Deno.test("transaction, watch and script payloads round-trip", () => {
  const resp = encodeCommand(["MULTI"]);
  const watched = decodePayload(
    encodePayload(PayloadKind.Transaction, 70_000, resp, { index: 2 ** 40 + 3, keys: [big, resp] }),
  );
  assert.equal(watched.kind, PayloadKind.WatchedTransaction);
  assert.equal(watched.replyCount, 70_000);
  assert.equal(watched.watch!.index, 2 ** 40 + 3);
  assert.deepEqual(watched.watch!.keys, [big, resp]);
  assert.deepEqual(watched.commandBytes, resp);
  const script = decodePayload(
    encodePayload(PayloadKind.Script, 1, resp, undefined, new TextEncoder().encode("return 1")),
  );
  assert.equal(text(script.script!), "return 1");
  assert.deepEqual(script.commandBytes, resp);
  assert.throws(
    () => decodePayload(new Uint8Array([11, 0, 0, 0, 1])),
    /unknown entry payload kind/,
  );
});

Deno.test("a transaction carries its scripts' texts, with or without a watch, stamped or not", () => {
  const resp = encodeCommand(["MULTI"]);
  const scripts = [new TextEncoder().encode("return 1"), big, new Uint8Array(0)];
  for (const watch of [undefined, { index: 9, keys: [resp] }]) {
    const payload = encodePayload(PayloadKind.Transaction, 4, resp, watch, undefined, scripts);
    for (const form of [payload, stampPayload(payload, 1_795_721_302_959)]) {
      const decoded = decodePayload(form);
      assert.equal(decoded.kind, watch ? PayloadKind.WatchedTransaction : PayloadKind.Transaction);
      assert.equal(decoded.replyCount, 4);
      assert.deepEqual(decoded.watch, watch);
      assert.deepEqual(decoded.scripts, scripts);
      assert.deepEqual(decoded.commandBytes, resp);
    }
  }
  const none = decodePayload(
    encodePayload(PayloadKind.Transaction, 3, resp, undefined, undefined, []),
  );
  assert.equal(none.scripts, undefined);
  const cut = encodePayload(PayloadKind.Transaction, 4, resp, undefined, undefined, [big]);
  assert.throws(() => decodePayload(cut.subarray(0, 1000)), /scripts overrun the entry/);
});

Deno.test("a stamped payload carries the entry time and decodes to the same parts", () => {
  const resp = encodeCommand(["SET", "k", "v"]);
  const timeMs = 1_795_721_302_959;
  const plain = [
    encodePayload(PayloadKind.Command, 1, resp),
    encodePayload(PayloadKind.Transaction, 3, resp, { index: 7, keys: [resp] }),
    encodePayload(PayloadKind.Script, 1, resp, undefined, new TextEncoder().encode("return 1")),
  ];
  for (const payload of plain) {
    assert.equal(payloadTimeMs(payload), undefined);
    const stamped = stampPayload(payload, timeMs);
    assert.equal(payloadTimeMs(stamped), timeMs);
    assert.equal(stampPayload(stamped, 1), stamped, "stamped once");
    const before = decodePayload(payload);
    const after = decodePayload(stamped);
    assert.equal(after.timeMs, timeMs);
    assert.deepEqual({ ...after, timeMs: undefined }, before);
  }
  assert.throws(() => decodePayload(new Uint8Array([0x81, 0, 0, 0, 1, 0])), /entry time overruns/);
});

Deno.test("a batch holds one-command writes in order, each its own RESP, with one entry time", () => {
  const commands = [["SET", "k", "v"], ["SET", "ключ", big], ["INCR", "n"]];
  const payloads = commands.map((args) => encodeCommandPayload(PayloadKind.Command, args));
  for (const payload of payloads) assert.ok(isBatchablePayload(payload));
  const batch = stampPayload(encodeBatchPayload(payloads), 1_795_721_302_959);
  const decoded = decodePayload(batch);
  assert.equal(decoded.kind, PayloadKind.Batch);
  assert.equal(decoded.replyCount, 3);
  assert.equal(decoded.timeMs, 1_795_721_302_959);
  assert.deepEqual(decoded.parts, commands.map((args) => encodeCommand(args)));
  // Only unstamped one-command writes may join a batch.
  assert.ok(!isBatchablePayload(stampPayload(payloads[0], 5)));
  assert.ok(!isBatchablePayload(encodePayload(PayloadKind.Transaction, 3, encodeCommand(["X"]))));
  assert.ok(!isBatchablePayload(batch));
  // A cut batch is a loud error, not a shorter batch.
  assert.throws(() => decodePayload(batch.subarray(0, batch.length - 1)), /batch overruns/);
  assert.throws(() => decodePayload(batch.subarray(0, 15)), /batch count overruns/);
});
