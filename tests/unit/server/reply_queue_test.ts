import assert from "node:assert/strict";
import { ReplyQueue } from "../../../src/server/reply_queue.ts";
import { survivorCount } from "../../helpers/collectable.ts";

const text = (s: string) => new TextEncoder().encode(s);

function collectingQueue(): { queue: ReplyQueue; writes: string[] } {
  const writes: string[] = [];
  const queue = new ReplyQueue((data) => {
    writes.push(new TextDecoder().decode(data));
    return Promise.resolve();
  }, () => {});
  return { queue, writes };
}

Deno.test("replies leave in request order, coalesced, whatever order they complete in", async () => {
  const { queue, writes } = collectingQueue();
  const [a, b, c] = [queue.take(), queue.take(), queue.take()];
  c.complete(text("+c\r\n"));
  b.complete(text("+b\r\n"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(writes, []);
  a.complete(text("+a\r\n"));
  await queue.drained();
  assert.deepEqual(writes, ["+a\r\n+b\r\n+c\r\n"]);
  assert.equal(queue.unsentBytes, 0);
});

Deno.test("a request answered with nothing (a peer's RAFT.MSG) costs no socket write", async () => {
  const { queue, writes } = collectingQueue();
  const silent = queue.take();
  silent.complete(new Uint8Array(0));
  await queue.drained();
  assert.deepEqual(writes, []);
  const [quiet, loud] = [queue.take(), queue.take()];
  quiet.complete(new Uint8Array(0));
  loud.complete(text("+OK\r\n"));
  await queue.drained();
  assert.deepEqual(writes, ["+OK\r\n"]);
  assert.equal(queue.inflightCount, 0);
});

Deno.test("a push goes out before the first reply still awaited, after the completed ones", async () => {
  const { queue, writes } = collectingQueue();
  const [a, b] = [queue.take(), queue.take()];
  a.complete(text("+a\r\n"));
  queue.pushOutOfBand(text(">1\r\n$1\r\np\r\n"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(writes.join(""), "+a\r\n>1\r\n$1\r\np\r\n", "not held behind b");
  b.complete(text("+b\r\n"));
  await queue.drained();
  assert.equal(writes.join(""), "+a\r\n>1\r\n$1\r\np\r\n+b\r\n");
  queue.pushOutOfBand(text(">1\r\n$1\r\nq\r\n"));
  await queue.drained();
  assert.equal(
    writes.join("").endsWith("+b\r\n>1\r\n$1\r\nq\r\n"),
    true,
    "nothing awaited: at the end",
  );
  assert.equal(queue.inflightCount, 0);
});

Deno.test("written replies are not kept alive by the queue (large replies would pile up)", async () => {
  const queue = new ReplyQueue(() => Promise.resolve(), () => {});
  const refs: WeakRef<object>[] = [];
  const answer = () => {
    const reply = new Uint8Array(1024 * 1024);
    refs.push(new WeakRef(reply));
    queue.take().complete(reply);
  };
  for (let i = 0; i < 10; i++) answer();
  await queue.drained();
  assert.equal(await survivorCount(refs), 0);
});

Deno.test("a waiting reply does not keep alive the larger buffer it is a view of", async () => {
  // A client that does not read: the first write never finishes (and holds what it writes).
  const writing: Uint8Array[] = [];
  const queue = new ReplyQueue((data) => {
    writing.push(data);
    return new Promise<void>(() => {});
  }, () => {});
  const refs: WeakRef<object>[] = [];
  const answer = () => {
    const readBuffer = new Uint8Array(1024 * 1024);
    refs.push(new WeakRef(readBuffer.buffer));
    queue.take().complete(readBuffer.subarray(0, 5));
  };
  answer();
  await new Promise((resolve) => setTimeout(resolve, 0)); // its write starts, and never ends
  for (let i = 0; i < 9; i++) answer();
  assert.equal(queue.unsentBytes, 50);
  // The first reply is being written (and its buffer with it); the nine behind it were copied.
  assert.equal(await survivorCount(refs), 1);
  assert.equal(writing.length, 1);
});

Deno.test("drained waits for every reply taken, not only the first write", async () => {
  const { queue, writes } = collectingQueue();
  const [first, later] = [queue.take(), queue.take()];
  first.complete(text("+first\r\n"));
  let drained = false;
  const done = queue.drained().then(() => drained = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(writes, ["+first\r\n"]);
  assert.equal(drained, false, "one reply still awaited");
  later.complete(text("+later\r\n"));
  await done;
  assert.deepEqual(writes, ["+first\r\n", "+later\r\n"]);
});
