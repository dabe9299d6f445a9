/**
 * @module
 * Minimal reproduction of chaos finding C1 (docs/chaos.md): when the leader is removed
 * (`RAFT.NODE REMOVE <its own id>`), its pending writes are failed with
 * `ERR this node was removed from the cluster`, yet some of them were already in the log and
 * commit under the new leader. The reply must say the outcome is unknown (`-TIMEOUT ...`), as a
 * write lost to a leader change does; a plain ERR invites a retry that applies the write twice
 * (the chaos list-append run saw an RPUSH applied twice this way).
 * Fixed: pending writes of a node that leaves get `-TIMEOUT ... the outcome is unknown`.
 */
import assert from "node:assert/strict";
import { infoField, TestCluster } from "../helpers/test_cluster.ts";
import { RespError } from "../helpers/resp_client.ts";

Deno.test({
  name: "writes pending on a removed leader are not answered with a plain error if they commit",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.start(3);
    try {
      const leader = await cluster.leader();
      const id = infoField(await cluster.info(leader), "raft_node_id")!;
      const admin = await leader.client();
      const writers = await Promise.all(Array.from({ length: 20 }, () => leader.client()));
      const replies: unknown[] = [];
      let unanswered = 0;
      let stop = false;
      const loops = writers.map(async (writer) => {
        while (!stop) {
          const reply = await writer.call("INCR", "c").catch(() => undefined);
          if (reply === undefined) {
            unanswered++;
            return;
          }
          replies.push(reply);
          if (reply instanceof RespError) return;
        }
      });
      await new Promise((r) => setTimeout(r, 300));
      await admin.call("RAFT.NODE", "REMOVE", id);
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await Promise.all(loops);
      writers.forEach((w) => w.close());
      admin.close();
      const acked = replies.filter((r) => typeof r === "number").length;
      const timeouts = replies.filter((r) =>
        r instanceof RespError && r.message.startsWith("TIMEOUT")
      ).length;
      const plainErrors = replies.filter((r) =>
        r instanceof RespError && !r.message.startsWith("TIMEOUT")
      ).length;
      const rest = cluster.nodes.filter((n) => n !== leader);
      await cluster.leader(15_000, rest);
      const final = Number(await cluster.call(["GET", "c"]) ?? 0);
      assert.ok(
        final <= acked + timeouts + unanswered,
        `final ${final} > ${acked} acknowledged + ${timeouts} TIMEOUT + ${unanswered} unanswered: ` +
          `${
            final - acked - timeouts - unanswered
          } of the ${plainErrors} writes answered with a plain error took effect`,
      );
    } finally {
      await cluster.destroy();
    }
  },
});
