/**
 * @module
 * A leader cut off from its followers (in both directions, by network namespaces) that has not
 * noticed yet (its election timeout, and so its quorum check, is long) gets a GET after the
 * others elected a new leader and overwrote the key. It may run the read on its child at once
 * (everything it knows committed is applied), but must not answer with what it read: its
 * ReadIndex round cannot be confirmed, so the answer is an error, never the old value.
 */
import assert from "node:assert/strict";
import { callOnce, type Reply, RespError } from "./resp_connection.ts";
import { CutOffTrio, raftInfo } from "./cut_off_leader.ts";

Deno.test({
  name:
    "a leader cut off from its followers never answers a read from before the new leader's write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    // The first node leads and must not notice the cut for the whole test.
    CutOffTrio.with("redisraft-cutoff-", (slot) => ({
      args: slot === 0
        ? ["--election-timeout-ms", "60000", "--request-timeout-ms", "2000"]
        : ["--election-timeout-ms", "500"],
    }), async (trio) => {
      const old = trio.old;
      assert.equal(await callOnce(old.addr, ["SET", "k", "before"]), "OK");
      assert.equal(await callOnce(old.addr, ["GET", "k"]), "before");
      await trio.cutOff();
      await trio.writeOnNewLeader("k", "after");
      assert.equal(
        await raftInfo(old.addr, "raft_role"),
        "leader",
        "the cut-off leader has not noticed yet",
      );
      const read: Reply = await callOnce(old.addr, ["GET", "k"], 10_000);
      assert.notEqual(read, "before", "stale read from a deposed leader");
      assert.ok(read instanceof RespError && /^TIMEOUT/.test(read.message), String(read));
    }),
});
