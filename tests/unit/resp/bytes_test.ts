import assert from "node:assert/strict";
import { coalesceForWrite, concatBytes, keyString, lowerAscii } from "../../../src/resp/bytes.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("lowerAscii lowercases ASCII letters only, one char per byte", () => {
  assert.equal(lowerAscii(new TextEncoder().encode("SeT")), "set");
  assert.equal(lowerAscii(new TextEncoder().encode("raft.cluster")), "raft.cluster");
  // 0xC0 (À in Latin-1) and 0xFF stay as they are: only A-Z change.
  assert.equal(lowerAscii(bytes(0x41, 0xc0, 0x5a, 0xff, 0x00)), "a\u00c0z\u00ff\u0000");
  assert.equal(lowerAscii(bytes()), "");
});

Deno.test("keyString and lowerAscii keep every byte of long inputs", () => {
  for (const length of [4095, 4096, 4097, 10_000]) {
    const input = new Uint8Array(length);
    for (let i = 0; i < length; i++) input[i] = (i * 7) % 256;
    const key = keyString(input);
    assert.equal(key.length, length);
    for (let i = 0; i < length; i += 97) assert.equal(key.charCodeAt(i), input[i]);
    const lowered = lowerAscii(input);
    assert.equal(lowered.length, length);
    for (let i = 0; i < length; i++) {
      const c = input[i];
      if (lowered.charCodeAt(i) !== (c >= 65 && c <= 90 ? c + 32 : c)) assert.fail(`byte ${i}`);
    }
  }
});

Deno.test("coalesceForWrite joins runs of small parts and leaves large ones as they are", () => {
  const small = (n: number) => new Uint8Array(n).fill(n);
  const large = new Uint8Array(10).fill(9);
  const parts = [small(1), small(2), large, small(3), large, large, small(4)];
  const out = coalesceForWrite(parts, 10);
  assert.equal(out.length, 6);
  assert.deepEqual(out[0], concatBytes([small(1), small(2)]));
  assert.equal(out[1], large);
  assert.equal(out[2], parts[3], "a lone small part is not copied");
  assert.equal(out[3], large);
  assert.equal(out[4], large);
  assert.equal(out[5], parts[6]);
  assert.deepEqual(concatBytes(out), concatBytes(parts));
  assert.deepEqual(coalesceForWrite([], 10), []);
});
