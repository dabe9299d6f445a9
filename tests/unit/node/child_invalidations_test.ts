/**
 * Unit: reading the child's `invalidate` pushes by hand, against frames a real redis-server sends
 * (keys, binary keys, the null of a flush) and pushes that are not invalidations.
 */
import assert from "node:assert/strict";
import { invalidatedKeys } from "../../../src/node/child_invalidations.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (keys: Uint8Array[] | null | undefined) =>
  keys ? keys.map((k) => new TextDecoder().decode(k)) : keys;

Deno.test("invalidate pushes give their keys, null for a flush, undefined for other pushes", () => {
  assert.deepEqual(
    texts(invalidatedKeys(bytes(">2\r\n$10\r\ninvalidate\r\n*2\r\n$2\r\nk1\r\n$0\r\n\r\n"))),
    ["k1", ""],
  );
  assert.equal(invalidatedKeys(bytes(">2\r\n$10\r\ninvalidate\r\n_\r\n")), null);
  assert.deepEqual(
    texts(invalidatedKeys(bytes(">2\r\n$10\r\ninvalidate\r\n*1\r\n$13\r\nkey\r\nwith\r\nCR\r\n"))),
    ["key\r\nwith\r\nCR"],
  );
  assert.equal(invalidatedKeys(bytes(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n")), undefined);
  assert.equal(invalidatedKeys(bytes(">2\r\n$10\r\ninvalidatX\r\n_\r\n")), undefined);
});
