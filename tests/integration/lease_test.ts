import assert from "node:assert/strict";
import { RespError } from "../helpers/resp_client.ts";
import { TestCluster } from "../helpers/test_cluster.ts";

Deno.test("--read-mode lease: a leader paused past its lease never answers a stale read", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "lease"]);
  try {
    for (let round = 0; round < 4; round++) {
      const old = await cluster.leader();
      const others = cluster.nodes.filter((n) => n !== old);
      assert.equal(await cluster.call(["SET", "k", `before-${round}`]), "OK");
      const reader = await old.client();
      assert.equal(await reader.call("GET", "k"), `before-${round}`, "served under the lease");
      Deno.kill(old.process!.pid, "SIGSTOP");
      let resumed = false;
      try {
        const fresh = await cluster.leader(15_000, others);
        const writer = await fresh.client();
        assert.equal(await writer.call("SET", "k", `after-${round}`), "OK");
        writer.close();
        // The GET waits in the paused leader's socket next to the new leader's messages.
        const pending = reader.call("GET", "k");
        await new Promise((resolve) => setTimeout(resolve, 100));
        Deno.kill(old.process!.pid, "SIGCONT");
        resumed = true;
        const reply = await pending;
        if (reply instanceof RespError) {
          assert.match(reply.message, /^(MOVED|CLUSTERDOWN|TIMEOUT)/, `round ${round}`);
        } else {
          assert.equal(reply, `after-${round}`, `round ${round}: stale read from the old leader`);
        }
      } finally {
        if (!resumed) Deno.kill(old.process!.pid, "SIGCONT");
        reader.close();
      }
      await cluster.waitConverged();
    }
  } finally {
    await cluster.destroy();
  }
});
