import assert from "node:assert/strict";
import { crc32c } from "../../../src/storage/crc32c.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("crc32c matches the published check values", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(text("123456789")), 0xe3069283);
  // RFC 3720 appendix B.4 test vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

Deno.test("crc32c over pieces equals crc32c over the whole, at every split and alignment", () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 131 + 7) & 0xff);
  const whole = crc32c(bytes);
  for (let split = 0; split <= bytes.length; split++) {
    assert.equal(crc32c(bytes, crc32c(bytes, 0, 0, split), split), whole);
  }
  for (let start = 0; start < 9; start++) {
    assert.equal(crc32c(bytes, 0, start, 90), crc32c(bytes.slice(start, 90)));
  }
});
