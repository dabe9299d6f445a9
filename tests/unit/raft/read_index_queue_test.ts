import assert from "node:assert/strict";
import { ReadIndexQueue } from "../../../src/raft/read_index_queue.ts";
import { survivorCount } from "../../helpers/collectable.ts";

Deno.test("read index queue: confirmed reads are let go under steady load, when a newer read always waits", async () => {
  const queue = new ReadIndexQueue();
  const refs: WeakRef<object>[] = [];
  const roundsCount = 5000;
  queue.add(0, 1);
  let round = queue.startRound(0);
  for (let i = 1; i <= roundsCount; i++) {
    queue.add(i, 1); // waits for the next round
    const { reads } = queue.confirm(round);
    assert.equal(reads.length, 1);
    assert.equal(reads[0].requestId, i - 1);
    for (const read of reads) refs.push(new WeakRef(read));
    round = queue.startRound(i);
  }
  assert.equal(queue.size, 1);
  assert.ok(
    await survivorCount(refs) <= 2 * 1024,
    "the queue keeps at most its compaction threshold of confirmed reads",
  );
  assert.deepEqual(queue.confirm(round).reads.map((r) => r.requestId), [roundsCount]);
});
