import assert from "node:assert/strict";
import {
  decodeWaitEnd,
  encodeWaitEnd,
  parseLongDouble,
  parseTimeout,
} from "../../../src/node/blocked_clients.ts";

const notAFloat = "ERR timeout is not a float or out of range";
const negative = "ERR timeout is negative";

Deno.test("long doubles are read as strtold reads a whole string", () => {
  const cases: [string, number | undefined][] = [
    ["1", 1],
    ["-2.5", -2.5],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["0x10", 16],
    ["0X1.8p1", 3],
    ["-0x.8", -0.5],
    ["inf", Infinity],
    ["-INFINITY", -Infinity],
    ["1e400", Infinity],
    ["1e5000", undefined],
    ["nan", undefined],
    [" 1", undefined],
    ["1 ", undefined],
    ["", undefined],
    ["0x", undefined],
    ["1e", undefined],
    ["abc", undefined],
  ];
  for (const [text, value] of cases) assert.equal(parseLongDouble(text), value, text);
});

Deno.test("blocking timeouts are Redis 7.0's: truncated milliseconds and its errors", () => {
  const cases: [string, number | string][] = [
    ["1", 1000],
    ["0.25", 250],
    ["0.0006", 0],
    ["-0.0005", 0],
    ["0", 0],
    ["-1", negative],
    ["inf", negative],
    ["1e400", negative],
    ["9.3e15", negative],
    ["9.223371e15", 9.223371e18],
    ["9.22337e15", 9.22337e18],
    ["0x10", 16_000],
    ["nan", notAFloat],
    [" 1", notAFloat],
    // Redis reads at most 5119 characters (MAX_LONG_DOUBLE_CHARS) and refuses more unread.
    [`${"0".repeat(5118)}2`, 2000],
    [`${"0".repeat(5119)}2`, notAFloat],
  ];
  for (const [text, expected] of cases) assert.equal(parseTimeout(text), expected, text);
  // A long run of digits that fails at its end is read once: the pattern took quadratic time
  // (40,000 digits, a second; a megabyte would hold the node for hours).
  for (const text of [`${"1".repeat(5000)}x`, `${"1".repeat(2500)}e${"1".repeat(2500)}x`]) {
    assert.equal(parseTimeout(text), notAFloat);
  }
  assert.equal(parseTimeout(`${"1".repeat(1 << 20)}x`), notAFloat);
});

Deno.test("the entry that ends a wait names the waiter, and whether it ends with an error", () => {
  assert.equal(new TextDecoder().decode(encodeWaitEnd(42, false)), "42");
  assert.equal(new TextDecoder().decode(encodeWaitEnd(42, true)), "42:error");
  for (const waiterId of [1, 42, 2 ** 40]) {
    for (const withError of [false, true]) {
      assert.deepEqual(decodeWaitEnd(encodeWaitEnd(waiterId, withError)), { waiterId, withError });
    }
  }
});
