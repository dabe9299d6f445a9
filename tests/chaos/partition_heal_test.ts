/**
 * @module
 * A partition that heals is over for the cluster within seconds. Three nodes in network
 * namespaces; the leader is cut off from the other two (both ways, the packets lost on the way as
 * behind a real fault) and they elect a new leader. While cut off, each node's TCP connections to
 * the other side back off their retransmissions (0.2 s, then 0.4, 0.8, ... 12.8 s apart from the
 * first message lost, the new leader's first, 1 to 2 s after the cut): healed at 15 s, the next
 * falls 26 to 28 s after the cut. A node drops a connection on which its peer has
 * acknowledged nothing for the response timeout (1 s) and connects anew, so once the network is
 * back, a write waits for every replica (WAIT 2) within seconds, not when TCP next resends.
 */
import assert from "node:assert/strict";
import { CutOffTrio } from "./cut_off_leader.ts";
import { callOnce, RespConnection } from "./resp_connection.ts";
import { waitFor } from "../helpers/node_process.ts";

const cutMs = 15_000;
/** From the heal until a write reaches both followers; without the response timeout 11 s or more. */
const rejoinBudgetMs = 8_000;

Deno.test({
  name: "after a partition heals, the cut-off node acknowledges writes again within seconds",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    CutOffTrio.with("redisraft-heal-", () => ({ args: [] }), async (trio) => {
      // Healthy links are acknowledged often enough that none is dropped as silent (a joining
      // node refuses messages until it is a member: counted before).
      const connErrors = () =>
        Promise.all(trio.nodes.map(async (node) => {
          const info = String(await callOnce(node.addr, ["INFO", "raft"]));
          return [...info.matchAll(/conn_errors=(\d+)/g)].map((match) => match[1]).join(",");
        }));
      const errorsBefore = await connErrors();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.deepEqual(await connErrors(), errorsBefore, "no link dropped while healthy");
      const cutAt = performance.now();
      await trio.cutOff();
      const fresh = await trio.writeOnNewLeader("during", "cut");
      await new Promise((resolve) => setTimeout(resolve, cutMs - (performance.now() - cutAt)));
      await trio.network.heal();
      const healedAt = performance.now();
      const client = await RespConnection.connect(fresh.addr, 2_000);
      try {
        let seq = 0;
        await waitFor(
          async () => {
            assert.equal(await client.call(["SET", "after", String(++seq)], 2_000), "OK");
            return await client.call(["WAIT", "2", "200"], 2_000) === 2;
          },
          "a write held by both followers",
          rejoinBudgetMs,
        );
      } finally {
        client.close();
      }
      const rejoinedMs = performance.now() - healedAt;
      assert.ok(rejoinedMs < rejoinBudgetMs, `${Math.round(rejoinedMs)} ms after the heal`);
    }),
});
