/**
 * Integration: a follower whose redis child stops reading takes no more from the leader than
 * --apply-queue-max-bytes beyond what the child read (the cluster goes on with the others), and
 * catches up once the child runs again.
 */
import assert from "node:assert/strict";
import { TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/reply_frames.ts";

Deno.test("a follower whose child stops takes no new entries past --apply-queue-max-bytes, then catches up", async () => {
  const cluster = await TestCluster.start(3, ["--apply-queue-max-bytes", String(256 * 1024)]);
  let stoppedPid = 0;
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    const childPid = follower.childPid();
    assert.ok(Deno.readTextFileSync(`/proc/${childPid}/cmdline`).includes(follower.dir));
    Deno.kill(childPid, "SIGSTOP");
    stoppedPid = childPid;

    const before = await cluster.lastIndex(leader);
    const client = await leader.client();
    try {
      const value = "v".repeat(10_000);
      for (let round = 0; round < 40; round++) {
        let writes = Array.from({ length: 100 }, (_, i) => ["SET", `key${round * 100 + i}`, value]);
        for (let attempt = 0; writes.length > 0 && attempt < 100; attempt++) {
          const replies = await client.pipeline(writes);
          // The leader's own child has the same bound: past it the leader refuses new writes.
          for (const reply of replies) {
            if (reply === "OK") continue;
            assert.ok(
              reply instanceof RespError && reply.message.startsWith("TRYAGAIN"),
              `${reply}`,
            );
          }
          writes = writes.filter((_, i) => replies[i] !== "OK");
          if (writes.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(writes.length, 0, "the other two nodes commit");
      }
    } finally {
      client.close();
    }
    // 40 MB went through the leader; the follower's log stopped near what its child could hold.
    const leaderTaken = await cluster.lastIndex(leader) - before;
    const followerTaken = await cluster.lastIndex(follower) - before;
    assert.ok(
      followerTaken < leaderTaken / 2,
      `the follower took ${followerTaken} of ${leaderTaken} entries`,
    );

    Deno.kill(childPid, "SIGCONT");
    stoppedPid = 0;
    await cluster.waitConverged(60_000);
  } finally {
    if (stoppedPid) Deno.kill(stoppedPid, "SIGCONT");
    await cluster.destroy();
  }
});
