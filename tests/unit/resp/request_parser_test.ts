import assert from "node:assert/strict";
import { BIG_BULK_MIN_BYTES, RequestParser } from "../../../src/resp/request_parser.ts";
import { ProtocolError } from "../../../src/resp/protocol_error.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import {
  bytes,
  concat,
  latin1,
  parseChunks,
  parseText,
  prng,
  splitAt,
} from "./resp_test_helpers.ts";

const MIXED_STREAM = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n" + // binary-safe bulk
  "*0\r\n*-1\r\n" + // no commands
  "PING\r\n" +
  "\r\n\n" + // blank inline lines
  "ECHO \"a b\\x41\\n\" 'c\\'d'\n" +
  "*1\r\n$0\r\n\r\n" +
  "*2\r\n$4\r\nECHO\r\n$20\r\n" + "z".repeat(20) + "\r\n" +
  "  SET   x\t y  \r\n";

const MIXED_COMMANDS = [
  ["SET", "k", "v\r\nxy"],
  ["PING"],
  ["ECHO", "a bA\n", "c'd"],
  [""],
  ["ECHO", "z".repeat(20)],
  ["SET", "x", "y"],
];

Deno.test("parser returns every command of a mixed multibulk and inline stream in one chunk", () => {
  assert.deepEqual(parseText(MIXED_STREAM), { commands: MIXED_COMMANDS, error: null });
});

Deno.test("parser gives the same commands for a stream split at any single offset", () => {
  const data = bytes(MIXED_STREAM);
  for (let offset = 0; offset <= data.length; offset++) {
    assert.deepEqual(
      parseChunks(splitAt(data, [offset])),
      { commands: MIXED_COMMANDS, error: null },
      `split at ${offset}`,
    );
  }
});

Deno.test("parser gives the same commands when fed one byte at a time", () => {
  const data = bytes(MIXED_STREAM);
  const chunks = Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
  assert.deepEqual(parseChunks(chunks), { commands: MIXED_COMMANDS, error: null });
});

Deno.test("parser gives the same commands for random multi-split chunkings", () => {
  const data = bytes(MIXED_STREAM);
  const random = prng(7);
  for (let round = 0; round < 200; round++) {
    const offsets = Array.from(
      { length: 1 + Math.floor(random() * 20) },
      () => Math.floor(random() * data.length),
    ).sort((a, b) => a - b);
    assert.deepEqual(parseChunks(splitAt(data, offsets)), {
      commands: MIXED_COMMANDS,
      error: null,
    }, `seed 7 round ${round}`);
  }
});

Deno.test("parser handles thousands of pipelined commands in one chunk", () => {
  const one = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
  const outcome = parseText(one.repeat(5000));
  assert.equal(outcome.commands.length, 5000);
  assert.deepEqual(outcome.commands[4999], ["SET", "key", "value"]);
});

Deno.test("parser returns arguments that later input does not overwrite", () => {
  const parser = new RequestParser();
  parser.push(bytes("*1\r\n$3\r\nabc\r\n"));
  const first = parser.next()!;
  for (let i = 0; i < 2000; i++) {
    parser.push(bytes("*1\r\n$3\r\nxyz\r\n"));
    parser.next();
  }
  assert.equal(latin1(first[0]), "abc");
});

Deno.test("parser keeps Redis quirks: bytes after a header CR and after a bulk are not checked", () => {
  assert.deepEqual(parseText("*1\rX$4\r\nPINGXY*1\r\n$4\r\nPING\r\n"), {
    commands: [["PING"], ["PING"]],
    error: null,
  });
});

Deno.test("parser ignores *0, *-1 and any negative count like Redis", () => {
  assert.deepEqual(parseText("*-5\r\n*0\r\n*-9223372036854775808\r\nPING\r\n"), {
    commands: [["PING"]],
    error: null,
  });
});

Deno.test("parser stalls on a NUL before a line terminator, like C strchr in Redis", () => {
  for (const text of ["ECHO a\x00b\r\n", "*1\r\n\x00\r\n", "*1\x00\r\n"]) {
    const parser = new RequestParser();
    assert.deepEqual(parseText(text, parser), { commands: [], error: null }, JSON.stringify(text));
    assert.equal(parser.heldBytes > 0, true);
  }
});

Deno.test("parser splits inline arguments like sdssplitargs", () => {
  const cases: [string, string[] | null][] = [
    ["GET k", ["GET", "k"]],
    ["  a\t\tb  ", ["a", "b"]],
    ['"a b" c', ["a b", "c"]],
    ['x"ab c"', ["xab c"]],
    ['"\\x41\\x4g\\n\\r\\t\\b\\a\\z\\""', ['Ax4g\n\r\t\b\x07z"']],
    ["'a\\'b' 'c\\nd'", ["a'b", "c\\nd"]],
    ['""', [""]],
    ["''", [""]],
    ['"a"\x0b', ["a"]],
    ["a\x0bb", ["a\x0bb"]],
    ["a\rb", ["a", "b"]],
    ['"\\xff"', ["\xff"]],
    ['"a', null],
    ["'a", null],
    ['"a"b', null],
    ["'a'b", null],
    ['"a\\"', null],
    ['"\\', null],
  ];
  for (const [line, expected] of cases) {
    const outcome = parseText(line + "\r\n");
    if (expected === null) {
      assert.deepEqual(outcome, {
        commands: [],
        error: "Protocol error: unbalanced quotes in request",
      }, JSON.stringify(line));
    } else {
      assert.deepEqual(outcome, { commands: [expected], error: null }, JSON.stringify(line));
    }
  }
});

Deno.test("parser reports each protocol error with Redis's exact text", () => {
  const cases: [string, string][] = [
    ["*3000000000\r\n", "Protocol error: invalid multibulk length"],
    ["*-0\r\n", "Protocol error: invalid multibulk length"],
    ["*01\r\n", "Protocol error: invalid multibulk length"],
    ["*+1\r\n", "Protocol error: invalid multibulk length"],
    ["* 1\r\n", "Protocol error: invalid multibulk length"],
    ["*\r\n", "Protocol error: invalid multibulk length"],
    ["*-9223372036854775809\r\n", "Protocol error: invalid multibulk length"],
    ["*99999999999999999999\r\n", "Protocol error: invalid multibulk length"],
    ["*1\r\n$-1\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\n$\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\n$01\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\nX\r\n", "Protocol error: expected '$', got 'X'"],
    ["*1\r\n\r\n", "Protocol error: expected '$', got ' '"],
    ["*1\r\n\n\r\n", "Protocol error: expected '$', got ' '"],
    ["*1\r\n\xff\r\n", "Protocol error: expected '$', got '\xff'"],
    ['PING "a\r\n', "Protocol error: unbalanced quotes in request"],
    ["x".repeat(70000), "Protocol error: too big inline request"],
    ["*" + "1".repeat(70000), "Protocol error: too big mbulk count string"],
    ["*1\r\n$" + "1".repeat(70000), "Protocol error: too big bulk count string"],
  ];
  for (const [text, message] of cases) {
    assert.deepEqual(parseText(text).error, message, JSON.stringify(text.slice(0, 40)));
  }
});

Deno.test("parser returns the commands before a protocol error, then stays dead", () => {
  const parser = new RequestParser();
  assert.deepEqual(parseText("*1\r\n$4\r\nPING\r\n*1\r\nZ\r\n", parser), {
    commands: [["PING"]],
    error: "Protocol error: expected '$', got 'Z'",
  });
  parser.push(bytes("*1\r\n$4\r\nPING\r\n"));
  assert.throws(() => parser.next(), ProtocolError);
  assert.equal(parser.heldBytes, 0);
});

Deno.test("protocol error reply is the exact bytes redis-server sends", () => {
  const outcome = new RequestParser();
  outcome.push(bytes("*1\r\n\xff\r\n"));
  try {
    outcome.next();
    assert.fail("expected a ProtocolError");
  } catch (error) {
    assert.ok(error instanceof ProtocolError);
    assert.equal(latin1(error.reply()), "-ERR Protocol error: expected '$', got '\xff'\r\n");
    assert.equal(error.replyExpected, true);
  }
});

Deno.test("bulk above protoMaxBulkLenBytes fails at its header without allocating", () => {
  const parser = new RequestParser();
  parser.push(bytes("*1\r\n$600000000\r\n"));
  assert.throws(() => parser.next(), { message: "Protocol error: invalid bulk length" });
  assert.equal(parser.heldBytes, 0);
});

Deno.test("bulk exactly at a small configured protoMaxBulkLenBytes is accepted, one more is not", () => {
  const limits = { protoMaxBulkLenBytes: 100 };
  const ok = parseText(`*1\r\n$100\r\n${"a".repeat(100)}\r\n`, new RequestParser({ limits }));
  assert.deepEqual(ok, { commands: [["a".repeat(100)]], error: null });
  const tooBig = parseText(`*1\r\n$101\r\n`, new RequestParser({ limits }));
  assert.equal(tooBig.error, "Protocol error: invalid bulk length");
});

Deno.test("multibulk count above multibulkMaxCount is an invalid multibulk length", () => {
  const limits = { multibulkMaxCount: 3 };
  assert.equal(parseText("*3\r\n", new RequestParser({ limits })).error, null);
  assert.equal(
    parseText("*4\r\n", new RequestParser({ limits })).error,
    "Protocol error: invalid multibulk length",
  );
  assert.equal(
    parseText("*1048577\r\n").error,
    "Protocol error: invalid multibulk length",
  );
});

Deno.test("inline line exactly at inlineMaxBytes is accepted whatever the split, one more byte is not", () => {
  const limits = { inlineMaxBytes: 16 };
  const atLimit = bytes("a".repeat(16) + "\r\n");
  const overLimit = bytes("a".repeat(17) + "\r\n");
  for (let offset = 0; offset <= atLimit.length; offset++) {
    assert.deepEqual(
      parseChunks(splitAt(atLimit, [offset]), new RequestParser({ limits })),
      { commands: [["a".repeat(16)]], error: null },
    );
    assert.deepEqual(
      parseChunks(splitAt(overLimit, [offset]), new RequestParser({ limits })),
      { commands: [], error: "Protocol error: too big inline request" },
    );
  }
});

Deno.test("header line longer than inlineMaxBytes is too big whatever the split", () => {
  const limits = { inlineMaxBytes: 8 };
  const data = bytes("*1\r\n$" + "0".repeat(10) + "1\r\na\r\n");
  for (let offset = 0; offset <= data.length; offset++) {
    assert.equal(
      parseChunks(splitAt(data, [offset]), new RequestParser({ limits })).error,
      "Protocol error: too big bulk count string",
    );
  }
});

Deno.test("query buffer limit closes the client without a reply and bounds held bytes", () => {
  const parser = new RequestParser({ limits: { queryBufferMaxBytes: 1000 } });
  const outcome = parseChunks(
    [bytes("*2\r\n$3\r\nSET\r\n$1100\r\n"), bytes("x".repeat(1100))],
    parser,
  );
  assert.equal(outcome.error, "closing client that reached max query buffer length");
  assert.equal(parser.failure?.replyExpected, false);
});

Deno.test("a big bulk that cannot fit the query buffer is refused before it is allocated", () => {
  const parser = new RequestParser({
    limits: { queryBufferMaxBytes: BIG_BULK_MIN_BYTES, protoMaxBulkLenBytes: 1 << 30 },
  });
  parser.push(bytes(`*1\r\n$${BIG_BULK_MIN_BYTES + 1}\r\n`));
  assert.throws(() => parser.next(), {
    message: "closing client that reached max query buffer length",
  });
});

Deno.test("a stream with a big bulk parses the same at strided split offsets", () => {
  const size = BIG_BULK_MIN_BYTES + 3;
  const data = bytes(
    `PING\r\n*2\r\n$1\r\na\r\n$${size}\r\n${"q".repeat(size)}\r\n*1\r\n$4\r\nPING\r\n`,
  );
  const tail = data.length - 40;
  for (let offset = 0; offset <= data.length; offset += offset < 60 || offset > tail ? 1 : 997) {
    const outcome = parseChunks(splitAt(data, [offset]));
    assert.equal(outcome.error, null);
    assert.equal(outcome.commands.length, 3, `split at ${offset}`);
    assert.equal(outcome.commands[1][1].length, size);
  }
});

Deno.test("a big bulk is accumulated in one buffer of its declared size and returned without copying", () => {
  const size = 3 * BIG_BULK_MIN_BYTES + 7;
  const body = new Uint8Array(size).map((_, i) => i & 0xff);
  const data = concat([
    bytes(`*2\r\n$3\r\nSET\r\n$${size}\r\n`),
    body,
    bytes("\r\n*1\r\n$4\r\nPING\r\n"),
  ]);
  for (const chunkBytes of [1000, 4096, 65536]) {
    const parser = new RequestParser();
    const commands: Uint8Array[][] = [];
    for (let at = 0; at < data.length; at += chunkBytes) {
      parser.push(data.subarray(at, at + chunkBytes));
      assert.ok(parser.heldBytes <= size + chunkBytes + 64);
      for (let cmd = parser.next(); cmd !== null; cmd = parser.next()) commands.push(cmd);
    }
    assert.equal(commands.length, 2);
    const arg = commands[0][1];
    assert.equal(arg.buffer.byteLength, size);
    assert.deepEqual(arg, body);
    assert.deepEqual(commands[1].map(latin1), ["PING"]);
  }
});

Deno.test("unauthenticated connections get Redis's 10-argument and 16 KiB bulk limits", () => {
  const strict = () => new RequestParser({ authRequired: true });
  assert.equal(parseText("*10\r\n", strict()).error, null);
  assert.equal(
    parseText("*11\r\n", strict()).error,
    "Protocol error: unauthenticated multibulk length",
  );
  assert.equal(parseText("*1\r\n$16384\r\n", strict()).error, null);
  assert.equal(
    parseText("*1\r\n$16385\r\n", strict()).error,
    "Protocol error: unauthenticated bulk length",
  );
  const parser = strict();
  parser.authRequired = false;
  assert.equal(parseText("*11\r\n", parser).error, null);
});

Deno.test("a long header arriving one byte at a time is scanned once, not quadratically", () => {
  const parser = new RequestParser({ limits: { inlineMaxBytes: 1 << 20 } });
  const one = bytes("1");
  parser.push(bytes("*"));
  const started = performance.now();
  for (let i = 0; i < 200_000; i++) {
    parser.push(one);
    assert.equal(parser.next(), null);
  }
  assert.ok(performance.now() - started < 2000, "too slow: rescanning the line?");
});

Deno.test("encodeCommand output parses back to the same arguments (round trip)", () => {
  const random = prng(42);
  for (let round = 0; round < 500; round++) {
    const args: Uint8Array[] = [];
    const count = 1 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) {
      const length = random() < 0.05
        ? BIG_BULK_MIN_BYTES + Math.floor(random() * 100)
        : Math.floor(random() * 40);
      args.push(new Uint8Array(length).map(() => Math.floor(random() * 256)));
    }
    const encoded = encodeCommand(args);
    const cut = Math.floor(random() * encoded.length);
    const parser = new RequestParser();
    parser.push(encoded.subarray(0, cut));
    const early = parser.next();
    parser.push(encoded.subarray(cut));
    const parsed = early ?? parser.next();
    assert.deepEqual(parsed, args, `seed 42 round ${round}`);
    assert.equal(parser.next(), null);
  }
});
