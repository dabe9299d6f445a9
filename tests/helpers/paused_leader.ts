/**
 * @module
 * Test helper: pause the leader (SIGSTOP) with a client's GET waiting in its socket, let the
 * others elect a new leader and overwrite the key, resume the old leader: its answer to the GET
 * must be the new value or a refusal, never the value from before the pause.
 */
import assert from "node:assert/strict";
import { waitFor } from "./node_process.ts";
import { RespError } from "./resp_client.ts";
import { callNewLeader, type TestCluster } from "./test_cluster.ts";

export async function assertPausedLeaderNeverReadsStale(
  cluster: TestCluster,
  roundsCount: number,
): Promise<void> {
  for (let round = 0; round < roundsCount; round++) {
    assert.equal(await cluster.call(["SET", "k", `before-${round}`]), "OK");
    // On a loaded machine leadership may move after the SET: take whichever leader serves.
    const { old, reader } = await waitFor(async () => {
      const old = await cluster.leader();
      const reader = await old.client();
      if (await reader.call("GET", "k") === `before-${round}`) return { old, reader };
      reader.close();
      return undefined;
    }, "a leader serving the read");
    const others = cluster.nodes.filter((n) => n !== old);
    Deno.kill(old.process!.pid, "SIGSTOP");
    let resumed = false;
    try {
      const fresh = await cluster.leader(15_000, others);
      const writer = await fresh.client();
      assert.equal(await callNewLeader(writer, ["SET", "k", `after-${round}`]), "OK");
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
}
