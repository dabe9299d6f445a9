/**
 * MONITOR lines' arguments: quoted byte for byte as Redis's sdscatrepr, and the passwords of
 * AUTH and HELLO hidden wherever Redis's option reading finds them.
 */
import assert from "node:assert/strict";
import { monitorArgs, quote } from "../../../src/server/monitor_feed.ts";

const bytes = (...parts: string[]) => parts.map((part) => new TextEncoder().encode(part));

Deno.test("quote: printable ASCII as is, C escapes, every other byte as \\xHH", () => {
  assert.equal(quote(new Uint8Array()), '""');
  assert.equal(quote(bytes("plain text ~!")[0]), '"plain text ~!"');
  assert.equal(
    quote(new Uint8Array([0x5c, 0x22, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x00, 0x1f, 0x7f, 0x80, 0xff])),
    String.raw`"\\\"\n\r\t\a\b\x00\x1f\x7f\x80\xff"`,
  );
  // Multi-byte UTF-8 is shown byte by byte, as Redis does.
  assert.equal(quote(bytes("é")[0]), String.raw`"\xc3\xa9"`);
});

Deno.test("monitorArgs: AUTH and HELLO passwords redacted, other commands as sent", () => {
  assert.equal(monitorArgs(bytes("SET", "k", "v")), '"SET" "k" "v"');
  assert.equal(monitorArgs(bytes("auth", "pw")), '"auth" "(redacted)"');
  assert.equal(monitorArgs(bytes("AUTH", "user", "pw")), '"AUTH" "(redacted)" "(redacted)"');
  assert.equal(
    monitorArgs(bytes("AUTH", "a", "b", "c")),
    '"AUTH" "(redacted)" "(redacted)" "(redacted)"',
  );
  assert.equal(
    monitorArgs(bytes("HELLO", "3", "SETNAME", "n", "AUTH", "u", "p")),
    '"HELLO" "3" "SETNAME" "n" "AUTH" "(redacted)" "(redacted)"',
  );
  // SETNAME's argument is a name even when it reads "auth"; an unknown option ends the options.
  assert.equal(
    monitorArgs(bytes("hello", "3", "setname", "auth", "x", "y")),
    '"hello" "3" "setname" "auth" "x" "y"',
  );
  assert.equal(
    monitorArgs(bytes("hello", "3", "bogus", "auth", "u", "p")),
    '"hello" "3" "bogus" "auth" "u" "p"',
  );
  assert.equal(monitorArgs(bytes("hello", "2", "auth", "u")), '"hello" "2" "auth" "u"');
  assert.equal(
    monitorArgs(bytes("hello", "3", "auth", "u", "p", "auth", "a", "b")),
    '"hello" "3" "auth" "(redacted)" "(redacted)" "auth" "(redacted)" "(redacted)"',
  );
  assert.equal(
    monitorArgs(bytes("hello", "x", "auth", "u", "p")),
    '"hello" "x" "auth" "(redacted)" "(redacted)"',
  );
});
