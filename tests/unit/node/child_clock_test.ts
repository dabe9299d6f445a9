/** Unit: the RAFT.AT prefix put in front of each command for the child's clock. */
import assert from "node:assert/strict";
import { atTime, atTimeParts } from "../../../src/node/child_clock.ts";
import { encodeCommand, RequestParser } from "../../../src/resp/mod.ts";
import { concatBytes } from "../../../src/resp/bytes.ts";

function commands(bytes: Uint8Array): string[][] {
  const parser = new RequestParser();
  parser.push(bytes);
  const out: string[][] = [];
  for (let args = parser.next(); args !== null; args = parser.next()) {
    out.push(args.map((a) => new TextDecoder().decode(a)));
  }
  return out;
}

Deno.test("atTime prefixes one command, or the first command of a transaction", () => {
  const set = encodeCommand(["SET", "k", "v"]);
  assert.deepEqual(commands(atTime(set, 1_795_721_302_959.7)), [
    ["RAFT.AT", "1795721302959", "SET", "k", "v"],
  ]);
  const many = new Uint8Array([
    ...encodeCommand(["MULTI"]),
    ...encodeCommand(["INCR", "c"]),
    ...encodeCommand(["EXEC"]),
  ]);
  assert.deepEqual(commands(atTime(many, 5)), [
    ["RAFT.AT", "5", "MULTI"],
    ["INCR", "c"],
    ["EXEC"],
  ]);
  const tenArgs = encodeCommand(["DEL", ...Array.from({ length: 9 }, (_, i) => `k${i}`)]);
  assert.equal(commands(atTime(tenArgs, 7))[0].length, 12, "a two-digit count is rewritten");
});

Deno.test("atTime leaves out the prefix when the connection's child clock already holds the time", () => {
  const child = { clockMs: -1 };
  const get = encodeCommand(["GET", "k"]);
  assert.deepEqual(commands(atTime(get, 100.4, child)), [["RAFT.AT", "100", "GET", "k"]]);
  assert.equal(child.clockMs, 100);
  assert.equal(atTime(get, 100.9, child), get, "same millisecond: sent as it is");
  assert.deepEqual(commands(atTime(get, 101, child)), [["RAFT.AT", "101", "GET", "k"]]);
  assert.deepEqual(commands(atTime(get, 100, child)), [["RAFT.AT", "100", "GET", "k"]]);
  assert.equal(child.clockMs, 100, "an earlier time is set too (reads may trail entries)");
  assert.deepEqual(
    commands(atTime(get, 100, { clockMs: -1 })),
    [["RAFT.AT", "100", "GET", "k"]],
    "a new connection (a new child) starts unknown",
  );
});

Deno.test("atTimeParts: a large command follows its prefix as it is, not copied", () => {
  const value = "v".repeat(100 * 1024);
  const big = encodeCommand(["SET", "k", value]);
  const parts = atTimeParts(big, 42);
  assert.equal(parts.length, 2);
  assert.equal(parts[1].buffer, big.buffer, "a view into the command itself");
  assert.deepEqual(commands(concatBytes(parts)), [["RAFT.AT", "42", "SET", "k", value]]);
  // A command already in parts (a read with a large argument): the prefix joins the first.
  const key = new Uint8Array(80 * 1024).fill(107);
  const header = new TextEncoder().encode(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n`);
  const inParts = [header, key, new Uint8Array([13, 10])];
  const timed = atTimeParts(inParts, 43);
  assert.equal(timed.at(-2), key);
  assert.deepEqual(commands(concatBytes(timed)), [
    ["RAFT.AT", "43", "GET", new TextDecoder().decode(key)],
  ]);
  const small = atTimeParts(encodeCommand(["SET", "k", "v"]), 42);
  assert.equal(small.length, 1, "a small command is one buffer with its prefix");
  assert.deepEqual(commands(small[0]), [["RAFT.AT", "42", "SET", "k", "v"]]);
});
