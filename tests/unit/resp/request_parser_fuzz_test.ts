/**
 * Seeded fuzzing of the request parser: random bytes and mutated valid streams,
 * cut at random points. A failure message names the seed and iteration, which
 * reproduce it exactly.
 */
import assert from "node:assert/strict";
import { RequestParser } from "../../../src/resp/request_parser.ts";
import { ProtocolError } from "../../../src/resp/protocol_error.ts";
import type { RequestLimits } from "../../../src/resp/request_limits.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import { bytes, concat, latin1, prng, splitAt } from "./resp_test_helpers.ts";

const SEED = 20240601;
const ITERATIONS = 3000;
const SPECIAL_BYTES = bytes("*$\r\n\x00\"'\\ -0123456789x");

const SMALL_LIMITS: RequestLimits = {
  protoMaxBulkLenBytes: 64,
  multibulkMaxCount: 8,
  inlineMaxBytes: 48,
  queryBufferMaxBytes: 1 << 20,
};

function validStream(random: () => number): Uint8Array {
  const parts: Uint8Array[] = [];
  const commands = 1 + Math.floor(random() * 6);
  for (let c = 0; c < commands; c++) {
    const kind = random();
    const argc = 1 + Math.floor(random() * 4);
    const args = Array.from(
      { length: argc },
      () => new Uint8Array(Math.floor(random() * 12)).map(() => 97 + Math.floor(random() * 26)),
    );
    if (kind < 0.5) {
      parts.push(encodeCommand(args));
    } else if (kind < 0.8) {
      const quote = random() < 0.3 ? '"' : random() < 0.5 ? "'" : "";
      parts.push(bytes(args.map((a) => quote + latin1(a) + quote).join(" ") + "\r\n"));
    } else {
      parts.push(bytes(["*0\r\n", "*-1\r\n", "\r\n", "\n", " \t\r\n"][Math.floor(random() * 5)]));
    }
  }
  return concat(parts);
}

function mutate(data: Uint8Array, random: () => number): Uint8Array {
  const out = Array.from(data);
  const mutations = Math.floor(random() * 4);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(random() * (out.length + 1));
    const byte = random() < 0.6
      ? SPECIAL_BYTES[Math.floor(random() * SPECIAL_BYTES.length)]
      : Math.floor(random() * 256);
    const op = random();
    if (op < 0.4) out[at] = byte;
    else if (op < 0.7) out.splice(at, 0, byte);
    else if (op < 0.9) out.splice(at, 1);
    else out.length = at;
  }
  return new Uint8Array(out.slice(0, data.length + 8));
}

interface Outcome {
  commands: string[][];
  error: string | null;
}

/** Parses chunk by chunk, checking the parser's guarantees after every call. */
function checkedParse(chunks: Uint8Array[], limits: RequestLimits, where: string): Outcome {
  const parser = new RequestParser({ limits });
  const commands: Uint8Array[][] = [];
  let pushedBytes = 0;
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      pushedBytes += chunk.length;
      for (let cmd = parser.next(); cmd !== null; cmd = parser.next()) {
        // Every command consumes input, so this loop is bounded by the bytes pushed.
        assert.ok(commands.length < pushedBytes, `${where}: more commands than bytes`);
        assert.ok(cmd.length >= 1, where);
        assert.ok(cmd.length <= Math.max(limits.multibulkMaxCount, limits.inlineMaxBytes), where);
        for (const arg of cmd) {
          assert.ok(arg.length <= Math.max(limits.protoMaxBulkLenBytes, limits.inlineMaxBytes));
        }
        commands.push(cmd);
      }
      assert.ok(parser.heldBytes <= limits.queryBufferMaxBytes, `${where}: held too much`);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`${where}: threw ${error}`, { cause: error });
    }
    return { commands: commands.map((cmd) => cmd.map(latin1)), error: error.message };
  }
  // Converted only at the end: arguments must survive later input unchanged.
  return { commands: commands.map((cmd) => cmd.map(latin1)), error: null };
}

Deno.test("fuzz: parser throws only ProtocolError, stays bounded, and ignores chunking", () => {
  const random = prng(SEED);
  const started = performance.now();
  const errors = new Map<string, number>();
  let commandsSeen = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const where = `seed ${SEED} iteration ${i}`;
    const data = random() < 0.2
      ? new Uint8Array(Math.floor(random() * 200)).map(() => Math.floor(random() * 256))
      : mutate(validStream(random), random);
    const cuts = Array.from(
      { length: Math.floor(random() * 6) },
      () => Math.floor(random() * (data.length + 1)),
    ).sort((a, b) => a - b);
    const whole = checkedParse([data], SMALL_LIMITS, where);
    const split = checkedParse(splitAt(data, cuts), SMALL_LIMITS, where);
    assert.deepEqual(split, whole, `${where}: outcome depends on chunking`);
    const bytewise = Array.from({ length: data.length }, (_, k) => data.subarray(k, k + 1));
    assert.deepEqual(checkedParse(bytewise, SMALL_LIMITS, where), whole, where);
    if (whole.error !== null) errors.set(whole.error, (errors.get(whole.error) ?? 0) + 1);
    commandsSeen += whole.commands.length;
  }
  // The fuzzer must reach both the happy path and most error paths to mean anything.
  assert.ok(commandsSeen > ITERATIONS, `only ${commandsSeen} commands`);
  assert.ok(errors.size >= 6, `only errors: ${[...errors.keys()].join(", ")}`);
  assert.ok(performance.now() - started < 10_000, "fuzz took too long");
});

Deno.test("fuzz: a small query buffer limit is never exceeded while the parser lives", () => {
  const random = prng(SEED + 1);
  const limits = { ...SMALL_LIMITS, queryBufferMaxBytes: 40 };
  let limitHits = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const data = concat([validStream(random), validStream(random), validStream(random)]);
    const cuts = Array.from({ length: 4 }, () => Math.floor(random() * (data.length + 1)))
      .sort((a, b) => a - b);
    const outcome = checkedParse(splitAt(data, cuts), limits, `seed ${SEED + 1} iteration ${i}`);
    if (outcome.error === "closing client that reached max query buffer length") limitHits++;
  }
  assert.ok(limitHits > 10, `limit reached only ${limitHits} times`);
});
