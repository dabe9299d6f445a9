import assert from "node:assert/strict";
import { ReadBufferPool } from "../../../src/server/read_buffer_pool.ts";

Deno.test("a given-back buffer is reused; at most keptMaxCount are kept", () => {
  const pool = new ReadBufferPool(1024, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  assert.equal(a.length, 1024);
  assert.notEqual(a, b);
  pool.give(a);
  pool.give(b);
  pool.give(c);
  assert.equal(pool.freeCount, 2, "the third is left to the garbage collector");
  const again = [pool.take(), pool.take()];
  assert.ok(again.includes(a) && again.includes(b), "the kept ones come back");
  assert.equal(pool.freeCount, 0);
  assert.notEqual(pool.take(), c, "an empty pool allocates");
});

Deno.test("a buffer of another size is not kept", () => {
  const pool = new ReadBufferPool(1024, 4);
  pool.give(new Uint8Array(512));
  assert.equal(pool.freeCount, 0);
});
