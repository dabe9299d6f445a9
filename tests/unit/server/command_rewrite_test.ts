/** Unit: writes are made deterministic at proposal time (absolute expiries, seeded SPOP). */
import assert from "node:assert/strict";
import { rewriteForDeterminism } from "../../../src/server/command_rewrite.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const now = 1_700_000_000_000;

function rewrite(...args: string[]): string[] {
  const out = rewriteForDeterminism(
    args[0].toLowerCase(),
    args.map((a) => enc.encode(a)),
    now,
    () => 0.5,
  );
  return out.map((a) => dec.decode(a));
}

Deno.test("relative expiries become absolute PXAT/PEXPIREAT", () => {
  assert.deepEqual(rewrite("EXPIRE", "k", "10"), ["PEXPIREAT", "k", String(now + 10_000)]);
  assert.deepEqual(rewrite("EXPIRE", "k", "10", "NX"), [
    "PEXPIREAT",
    "k",
    String(now + 10_000),
    "NX",
  ]);
  assert.deepEqual(rewrite("PEXPIRE", "k", "250"), ["PEXPIREAT", "k", String(now + 250)]);
  assert.deepEqual(rewrite("SETEX", "k", "5", "v"), ["SET", "k", "v", "PXAT", String(now + 5000)]);
  assert.deepEqual(rewrite("PSETEX", "k", "5", "v"), ["SET", "k", "v", "PXAT", String(now + 5)]);
  assert.deepEqual(rewrite("SET", "k", "v", "EX", "7"), [
    "SET",
    "k",
    "v",
    "PXAT",
    String(now + 7000),
  ]);
  assert.deepEqual(rewrite("SET", "k", "v", "NX", "px", "7"), [
    "SET",
    "k",
    "v",
    "NX",
    "PXAT",
    String(now + 7),
  ]);
  assert.deepEqual(rewrite("GETEX", "k", "EX", "1"), ["GETEX", "k", "PXAT", String(now + 1000)]);
  assert.deepEqual(rewrite("RESTORE", "k", "100", "payload"), [
    "RESTORE",
    "k",
    String(now + 100),
    "payload",
    "ABSTTL",
  ]);
});

Deno.test("invalid expiry arguments are left for the child to reject identically everywhere", () => {
  assert.deepEqual(rewrite("EXPIRE", "k", "ten"), ["EXPIRE", "k", "ten"]);
  assert.deepEqual(rewrite("SETEX", "k", "0", "v"), ["SETEX", "k", "0", "v"]);
  assert.deepEqual(rewrite("SET", "k", "v", "EX", "-1"), ["SET", "k", "v", "EX", "-1"]);
  assert.deepEqual(rewrite("SET", "k", "v", "KEEPTTL"), ["SET", "k", "v", "KEEPTTL"]);
  // Spellings Redis's string2ll refuses: Redis answers "not an integer", so they pass unchanged
  // ("010" became a 10-second expiry where Redis refuses it).
  for (const spelling of ["010", "+10", "-0", " 10", "10 ", "0x10", "1e3", "10.0"]) {
    assert.deepEqual(rewrite("EXPIRE", "k", spelling), ["EXPIRE", "k", spelling], spelling);
    assert.deepEqual(rewrite("SET", "k", "v", "EX", spelling), ["SET", "k", "v", "EX", spelling]);
    assert.deepEqual(rewrite("SETEX", "k", spelling, "v"), ["SETEX", "k", spelling, "v"]);
    assert.deepEqual(rewrite("RESTORE", "k", spelling, "p"), ["RESTORE", "k", spelling, "p"]);
    assert.deepEqual(rewrite("SPOP", "s", spelling), ["SPOP", "s", spelling]);
  }
});

Deno.test("SPOP carries a seed chosen at proposal, so replay picks the same members", () => {
  const once = rewrite("SPOP", "s");
  const again = rewrite("SPOP", "s");
  assert.deepEqual(once, again);
  assert.equal((once as string[])[0], "EVAL");
  // An invalid count goes to the child, whose error is Redis's (at EXEC inside a transaction).
  assert.deepEqual(rewrite("SPOP", "s", "-1"), ["SPOP", "s", "-1"]);
});

Deno.test("XADD's * id takes its milliseconds from the proposing leader: <ms>-*", () => {
  const ms = String(now);
  assert.deepEqual(rewrite("XADD", "s", "*", "f", "v"), ["XADD", "s", `${ms}-*`, "f", "v"]);
  assert.deepEqual(
    rewrite("XADD", "s", "NOMKSTREAM", "MAXLEN", "~", "100", "LIMIT", "10", "*", "f", "v"),
    ["XADD", "s", "NOMKSTREAM", "MAXLEN", "~", "100", "LIMIT", "10", `${ms}-*`, "f", "v"],
  );
  assert.deepEqual(
    rewrite("xadd", "s", "minid", "5-0", "*", "f", "v"),
    ["xadd", "s", "minid", "5-0", `${ms}-*`, "f", "v"],
  );
  assert.deepEqual(rewrite("XADD", "s", "7-1", "f", "v"), ["XADD", "s", "7-1", "f", "v"]);
  assert.deepEqual(rewrite("XADD", "s"), ["XADD", "s"], "malformed: left to the child");
  const earlier = rewriteForDeterminism(
    "xadd",
    ["XADD", "s", "*", "f", "v"].map((a) => enc.encode(a)),
    now - 5000,
  );
  assert.equal(dec.decode((earlier as Uint8Array[])[2]), `${ms}-*`, "never back in time");
});
