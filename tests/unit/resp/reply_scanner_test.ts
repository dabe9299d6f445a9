import assert from "node:assert/strict";
import { ReplyScanner } from "../../../src/resp/reply_scanner.ts";
import { ReplyProtocolError } from "../../../src/resp/reply_protocol_error.ts";
import { decodeReply } from "../../../src/resp/reply_decoder.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import { bytes, latin1, prng, splitAt, ThrowawayRedis } from "./resp_test_helpers.ts";

/** One frame of every RESP2 and RESP3 type, including nesting, attributes and pushes. */
const FRAMES = [
  "+OK\r\n",
  "-ERR unknown command\r\n",
  ":-12\r\n",
  "$5\r\nhe\r\no\r\n",
  "$0\r\n\r\n",
  "$-1\r\n",
  "*-1\r\n",
  "*0\r\n",
  "*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n*0\r\n",
  "_\r\n",
  ",3.25\r\n",
  "#t\r\n",
  "!9\r\nSYNTAX xx\r\n",
  "=8\r\ntxt:abcd\r\n",
  "(3492890328409238509324850943850943825024385\r\n",
  "%2\r\n+a\r\n:1\r\n+b\r\n%1\r\n+c\r\n~2\r\n:1\r\n:2\r\n",
  "~0\r\n",
  ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
  "|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n",
  "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
  "|0\r\n:7\r\n",
];

function scanAll(chunks: readonly Uint8Array[], scanner = new ReplyScanner()): string[] {
  const frames: Uint8Array[] = [];
  for (const chunk of chunks) {
    scanner.push(chunk);
    for (let frame = scanner.next(); frame !== null; frame = scanner.next()) frames.push(frame);
  }
  // Converted at the end: earlier frames must survive later pushes unchanged.
  return frames.map(latin1);
}

Deno.test("scanner returns each RESP2 and RESP3 frame whole", () => {
  for (const frame of FRAMES) assert.deepEqual(scanAll([bytes(frame)]), [frame]);
});

Deno.test("scanner returns many frames from one chunk", () => {
  assert.deepEqual(scanAll([bytes(FRAMES.join(""))]), FRAMES);
});

Deno.test("scanner gives the same frames for a stream split at any offset or byte by byte", () => {
  const data = bytes(FRAMES.join(""));
  for (let offset = 0; offset <= data.length; offset++) {
    assert.deepEqual(scanAll(splitAt(data, [offset])), FRAMES, `split at ${offset}`);
  }
  const bytewise = Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
  assert.deepEqual(scanAll(bytewise), FRAMES);
});

Deno.test("scanner keeps returned frames intact while its buffer is replaced", () => {
  const random = prng(3);
  const body = "v".repeat(50_000);
  const frames = Array.from(
    { length: 40 },
    (_, i) => i % 2 ? `$${body.length}\r\n${body}\r\n` : FRAMES[i % FRAMES.length],
  );
  const data = bytes(frames.join(""));
  const cuts = Array.from({ length: 60 }, () => Math.floor(random() * data.length)).sort((a, b) =>
    a - b
  );
  assert.deepEqual(scanAll(splitAt(data, cuts)), frames);
});

Deno.test("scanner rejects malformed replies with ReplyProtocolError and stays dead", () => {
  for (
    const text of [
      "?\r\n",
      "$x\r\n",
      "$-2\r\n",
      "*-2\r\n",
      "%-1\r\n",
      "$1\r\nab\r\n",
      "+a\rb\r\n",
      "$?\r\n",
    ]
  ) {
    const scanner = new ReplyScanner();
    scanner.push(bytes(text));
    assert.throws(() => scanner.next(), ReplyProtocolError, JSON.stringify(text));
    assert.throws(() => scanner.next(), ReplyProtocolError);
  }
});

Deno.test("fuzz: scanner throws only ReplyProtocolError on random and mutated input", () => {
  const seed = 99;
  const random = prng(seed);
  const valid = bytes(FRAMES.join(""));
  for (let i = 0; i < 2000; i++) {
    const data = random() < 0.5
      ? new Uint8Array(Math.floor(random() * 100)).map(() => Math.floor(random() * 256))
      : valid.map((b) => random() < 0.01 ? Math.floor(random() * 256) : b);
    const cuts = Array.from({ length: 3 }, () => Math.floor(random() * data.length)).sort((a, b) =>
      a - b
    );
    const scanner = new ReplyScanner({ frameMaxBytes: 4096 });
    try {
      let frames = 0;
      for (const chunk of splitAt(data, cuts)) {
        scanner.push(chunk);
        for (let frame = scanner.next(); frame !== null; frame = scanner.next()) {
          assert.ok(++frames <= data.length, `seed ${seed} iteration ${i}`);
        }
      }
    } catch (error) {
      if (!(error instanceof ReplyProtocolError)) {
        throw new Error(`seed ${seed} iteration ${i}: ${error}`, { cause: error });
      }
    }
  }
});

Deno.test("a reply larger than frameMaxBytes is scanned to its end unkept and answered with an error; the next is intact", () => {
  const tooLarge = "-ERR reply too large: more than 100 bytes\r\n";
  const exact = new ReplyScanner({ frameMaxBytes: 100 });
  const frame = `$93\r\n${"a".repeat(93)}\r\n`;
  assert.equal(frame.length, 100);
  assert.deepEqual(scanAll([bytes(frame)], exact), [frame]);

  const big = `*3\r\n$60\r\n${"a".repeat(60)}\r\n:1\r\n*2\r\n$500\r\n${"b".repeat(500)}\r\n+x\r\n`;
  const stream = bytes(big + "+OK\r\n" + big + `$3\r\nend\r\n`);
  const expected = [tooLarge, "+OK\r\n", tooLarge, "$3\r\nend\r\n"];
  // Whole, byte by byte, and in every two-piece split.
  assert.deepEqual(scanAll([stream], new ReplyScanner({ frameMaxBytes: 100 })), expected);
  const single = Array.from(stream, (byte) => new Uint8Array([byte]));
  const scanner = new ReplyScanner({ frameMaxBytes: 100 });
  let mostBuffered = 0;
  const frames: string[] = [];
  for (const chunk of single) {
    scanner.push(chunk);
    mostBuffered = Math.max(mostBuffered, scanner.bufferedBytes);
    for (let f = scanner.next(); f !== null; f = scanner.next()) frames.push(latin1(f));
  }
  assert.deepEqual(frames, expected);
  assert.ok(mostBuffered <= 101, `kept ${mostBuffered} bytes of a frame it drops`);
  for (let cut = 1; cut < stream.length; cut++) {
    assert.deepEqual(
      scanAll(splitAt(stream, [cut]), new ReplyScanner({ frameMaxBytes: 100 })),
      expected,
      `split at ${cut}`,
    );
  }
});

Deno.test("scanner and decoder handle real redis-server RESP2 and RESP3 replies", async () => {
  const redis = await ThrowawayRedis.start(["--enable-debug-command", "yes"]);
  const commands = [
    ["HELLO", "3"],
    ["SET", "k", "v"],
    ["GET", "k"],
    ["GET", "missing"],
    ["INFO", "server"],
    ["COMMAND", "INFO", "get", "set"],
    ["NOSUCHCOMMAND"],
    ...[
      "string",
      "integer",
      "double",
      "bignum",
      "null",
      "array",
      "set",
      "map",
      "attrib",
      "push",
      "verbatim",
      "true",
      "false",
    ]
      .map((type) => ["DEBUG", "PROTOCOL", type]),
    ["HELLO", "2"],
    ["HGETALL", "nohash"],
  ];
  try {
    const request = new Uint8Array(
      commands.reduce<number[]>((all, c) => [...all, ...encodeCommand(c)], []),
    );
    const { reply } = await redis.exchange(request, 300);
    const data = bytes(reply);
    const expected = scanAll([data]);
    // `DEBUG PROTOCOL push` sends a push frame before its own reply.
    assert.equal(expected.length, commands.length + 1);
    const random = prng(11);
    for (let round = 0; round < 50; round++) {
      const cuts = Array.from({ length: 10 }, () => Math.floor(random() * data.length)).sort((
        a,
        b,
      ) => a - b);
      assert.deepEqual(scanAll(splitAt(data, cuts)), expected, `seed 11 round ${round}`);
    }
    const values = expected.map((frame) => decodeReply(bytes(frame)));
    assert.ok(values[0] instanceof Map && values[0].get("proto") === 3);
    assert.equal(values[1], "OK");
    assert.equal(values[2], "v");
    assert.equal(values[3], null);
    assert.match(values[4] as string, /redis_version:7\./);
    assert.ok(Array.isArray(values[5]) && values[5].length === 2);
    assert.match(String(values[6]), /unknown command/);
    const byType = values.slice(7, 21);
    assert.deepEqual(byType.slice(0, 3), ["Hello World", 12345, 3.141]);
    assert.equal(typeof byType[3], "bigint");
    assert.equal(byType[4], null);
    assert.deepEqual(byType.slice(-2), [true, false]);
    assert.equal(expected.filter((f) => f.startsWith(">")).length, 1);
    assert.deepEqual(values.slice(-1), [[]]);
  } finally {
    await redis.stop();
  }
});
