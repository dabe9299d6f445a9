import assert from "node:assert/strict";
import {
  decodeRecord,
  encodeRecord,
  RECORD_HEADER_BYTES,
  RECORD_MAX_BYTES_DEFAULT,
} from "../../../src/storage/record_codec.ts";

Deno.test("record codec: encode then decode round-trips, including 2^53-1 terms", () => {
  const record = {
    index: 2 ** 53 - 1,
    term: 2 ** 40 + 3,
    type: 255,
    data: new Uint8Array([1, 2, 3]),
  };
  const out = new Uint8Array(RECORD_HEADER_BYTES + 3 + 5);
  const end = encodeRecord(out, 5, record);
  assert.equal(end, out.length);
  const result = decodeRecord(out, 5, RECORD_MAX_BYTES_DEFAULT);
  assert.equal(result.kind, "ok");
  if (result.kind === "ok") {
    assert.deepEqual(result.record, record);
    assert.equal(result.end, end);
  }
});

Deno.test("record codec: short input is torn, a flipped bit is corrupt", () => {
  const out = new Uint8Array(RECORD_HEADER_BYTES + 4);
  encodeRecord(out, 0, { index: 1, term: 1, type: 0, data: new Uint8Array([9, 9, 9, 9]) });
  assert.equal(decodeRecord(out.subarray(0, 10), 0, RECORD_MAX_BYTES_DEFAULT).kind, "torn");
  assert.equal(
    decodeRecord(out.subarray(0, out.length - 1), 0, RECORD_MAX_BYTES_DEFAULT).kind,
    "torn",
  );
  for (let offset = 4; offset < out.length; offset++) {
    const damaged = out.slice();
    damaged[offset] ^= 1;
    assert.equal(
      decodeRecord(damaged, 0, RECORD_MAX_BYTES_DEFAULT).kind,
      "corrupt",
      `byte ${offset}`,
    );
  }
});

Deno.test("record codec: a length beyond recordMaxBytes is corrupt without allocating", () => {
  const out = new Uint8Array(RECORD_HEADER_BYTES);
  encodeRecord(out, 0, { index: 1, term: 1, type: 0, data: new Uint8Array(0) });
  out[3] = 0xff;
  const result = decodeRecord(out, 0, RECORD_HEADER_BYTES + 100);
  assert.equal(result.kind, "corrupt");
});

Deno.test("record codec: invalid fields are refused on encode", () => {
  const out = new Uint8Array(64);
  assert.throws(() => encodeRecord(out, 0, { index: 0, term: 1, type: 0, data: new Uint8Array() }));
  assert.throws(() =>
    encodeRecord(out, 0, { index: 1, term: -1, type: 0, data: new Uint8Array() })
  );
  assert.throws(() =>
    encodeRecord(out, 0, { index: 1, term: 1, type: 256, data: new Uint8Array() })
  );
});
