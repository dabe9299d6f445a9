import assert from "node:assert/strict";
import { decodeReply, ReplyError } from "../../../src/resp/reply_decoder.ts";
import { ReplyProtocolError } from "../../../src/resp/reply_protocol_error.ts";
import { bytes } from "./resp_test_helpers.ts";

const decode = (text: string) => decodeReply(bytes(text));

Deno.test("decoder turns each reply type into its JS value", () => {
  assert.equal(decode("+OK\r\n"), "OK");
  assert.equal(decode(":-5\r\n"), -5);
  assert.equal(decode(":9223372036854775807\r\n"), 9223372036854775807n);
  assert.equal(decode("(12345678901234567890123\r\n"), 12345678901234567890123n);
  assert.equal(decode("$3\r\nabc\r\n"), "abc");
  assert.deepEqual(decodeReply(bytes("$3\r\na\xffc\r\n"), { bulk: "bytes" }), bytes("a\xffc"));
  assert.equal(decode("$-1\r\n"), null);
  assert.equal(decode("*-1\r\n"), null);
  assert.equal(decode("_\r\n"), null);
  assert.equal(decode(",1.5\r\n"), 1.5);
  assert.equal(decode(",-inf\r\n"), -Infinity);
  assert.ok(Number.isNaN(decode(",nan\r\n")));
  assert.equal(decode("#t\r\n"), true);
  assert.equal(decode("=7\r\ntxt:abc\r\n"), "abc");
  assert.deepEqual(decode("*2\r\n:1\r\n*1\r\n+a\r\n"), [1, ["a"]]);
  assert.deepEqual(decode("~1\r\n:1\r\n"), [1]);
  assert.deepEqual(decode(">2\r\n+a\r\n+b\r\n"), ["a", "b"]);
  assert.deepEqual(decode("%1\r\n+k\r\n:1\r\n"), new Map([["k", 1]]));
  assert.equal(decode("|1\r\n+ttl\r\n:1\r\n+v\r\n"), "v");
});

Deno.test("decoder returns error replies as ReplyError values with their code", () => {
  const error = decode("-WRONGTYPE Operation against a key\r\n");
  assert.ok(error instanceof ReplyError);
  assert.equal(error.code, "WRONGTYPE");
  const blob = decode("!10\r\nERR syntax\r\n");
  assert.ok(blob instanceof ReplyError && blob.message === "ERR syntax");
});

Deno.test("decoder rejects incomplete, malformed and trailing input", () => {
  for (
    const text of [
      "",
      "+OK",
      "$3\r\nab\r\n",
      "*2\r\n:1\r\n",
      ":x\r\n",
      "#x\r\n",
      "+a\r\n+b\r\n",
      "$3\r\nabcd\r\n",
    ]
  ) {
    assert.throws(() => decode(text), ReplyProtocolError, JSON.stringify(text));
  }
  assert.throws(() => decode("*1\r\n".repeat(1000) + ":1\r\n"), /nested too deeply/);
});
