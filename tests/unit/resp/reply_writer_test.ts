import assert from "node:assert/strict";
import { encodeCommand, encodeCommandParts, ReplyWriter } from "../../../src/resp/reply_writer.ts";
import { concatBytes } from "../../../src/resp/bytes.ts";
import { bytes, latin1 } from "./resp_test_helpers.ts";

function written(write: (w: ReplyWriter) => void): string {
  const writer = new ReplyWriter(16);
  write(writer);
  return latin1(writer.take());
}

Deno.test("writer encodes every reply type", () => {
  assert.equal(written((w) => w.writeSimpleString("OK")), "+OK\r\n");
  assert.equal(written((w) => w.writeError("ERR syntax error")), "-ERR syntax error\r\n");
  assert.equal(written((w) => w.writeInteger(0)), ":0\r\n");
  assert.equal(written((w) => w.writeInteger(-42)), ":-42\r\n");
  assert.equal(
    written((w) => w.writeInteger(-9223372036854775808n)),
    ":-9223372036854775808\r\n",
  );
  assert.equal(written((w) => w.writeBulk(bytes("a\r\nb"))), "$4\r\na\r\nb\r\n");
  assert.equal(written((w) => w.writeBulk(new Uint8Array(0))), "$0\r\n\r\n");
  assert.equal(written((w) => w.writeBulkString("héllo")), "$6\r\nh\xc3\xa9llo\r\n");
  assert.equal(written((w) => w.writeNullBulk()), "$-1\r\n");
  assert.equal(written((w) => w.writeArrayHeader(3)), "*3\r\n");
  assert.equal(written((w) => w.writeArrayHeader(123456)), "*123456\r\n");
  assert.equal(written((w) => w.writeNullArray()), "*-1\r\n");
  assert.equal(written((w) => w.writeRaw(bytes(":1\r\n"))), ":1\r\n");
});

Deno.test("writer turns CR and LF inside simple strings and errors into spaces", () => {
  assert.equal(written((w) => w.writeError("ERR bad\r\nthing")), "-ERR bad  thing\r\n");
  assert.equal(written((w) => w.writeSimpleString("a\nb")), "+a b\r\n");
});

Deno.test("writer refuses a non-integer number", () => {
  assert.throws(() => new ReplyWriter().writeInteger(1.5), RangeError);
});

Deno.test("bulk strings of every length class get exact headers", () => {
  for (const length of [0, 1, 9, 10, 99, 100, 1023, 1024, 5000, 100_000]) {
    for (const unit of ["a", "é", "😀"]) {
      const text = unit.repeat(length);
      const utf8 = new TextEncoder().encode(text);
      const expected = `$${utf8.length}\r\n${latin1(utf8)}\r\n`;
      assert.equal(written((w) => w.writeBulkString(text)), expected, `${unit} x ${length}`);
    }
  }
});

Deno.test("writer grows its buffer and keeps earlier bytes", () => {
  const writer = new ReplyWriter(16);
  for (let i = 0; i < 1000; i++) writer.writeInteger(i);
  const text = latin1(writer.view());
  assert.ok(text.startsWith(":0\r\n:1\r\n"));
  assert.ok(text.endsWith(":999\r\n"));
  writer.reset();
  assert.equal(writer.length, 0);
});

Deno.test("writeCommand and encodeCommand produce the same multibulk request", () => {
  const args = ["SET", bytes("k\x00"), "välue", new Uint8Array(2000).fill(7)];
  const writer = new ReplyWriter();
  writer.writeCommand(args);
  const encoded = encodeCommand(args);
  assert.deepEqual(writer.take(), encoded);
  assert.ok(
    latin1(encoded).startsWith("*4\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$6\r\nv\xc3\xa4lue\r\n$2000\r\n"),
  );
  assert.equal(encoded.buffer.byteLength, encoded.length);
});

Deno.test("encodeCommandParts: large arguments are parts of their own, the bytes as encodeCommand's", () => {
  const enc = (text: string) => new TextEncoder().encode(text);
  const small = [enc("GET"), enc("k")];
  assert.deepEqual(
    encodeCommandParts(small),
    encodeCommand(small),
    "no large argument: one buffer",
  );
  const large = new Uint8Array(70 * 1024).fill(120);
  const args = [enc("PUBLISH"), enc("channel"), large, enc(""), large];
  const parts = encodeCommandParts(args) as Uint8Array[];
  assert.ok(Array.isArray(parts));
  assert.deepEqual(parts.filter((part) => part === large).length, 2, "not copied");
  assert.deepEqual(concatBytes(parts), encodeCommand(args));
});
