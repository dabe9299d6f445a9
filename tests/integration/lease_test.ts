import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";
import { RespError } from "../helpers/resp_client.ts";
import { fastTimers, TestCluster } from "../helpers/test_cluster.ts";

Deno.test("--read-mode lease: a leader paused past its lease never answers a stale read", async () => {
  const cluster = await TestCluster.start(3, ["--read-mode", "lease"]);
  try {
    for (let round = 0; round < 4; round++) {
      assert.equal(await cluster.call(["SET", "k", `before-${round}`]), "OK");
      // On a loaded machine leadership may move after the SET: take whichever leader serves.
      const { old, reader } = await waitFor(async () => {
        const old = await cluster.leader();
        const reader = await old.client();
        if (await reader.call("GET", "k") === `before-${round}`) return { old, reader };
        reader.close();
        return undefined;
      }, "a leader serving the read under its lease");
      const others = cluster.nodes.filter((n) => n !== old);
      Deno.kill(old.process!.pid, "SIGSTOP");
      let resumed = false;
      try {
        const fresh = await cluster.leader(15_000, others);
        const writer = await fresh.client();
        // A new leader answers CLUSTERDOWN until its current-term no-op is applied (nothing is
        // proposed then); any other reply is final.
        const written = await waitFor(async () => {
          const reply = await writer.call("SET", "k", `after-${round}`);
          const notReady = reply instanceof RespError && reply.message.startsWith("CLUSTERDOWN");
          return notReady ? undefined : { reply };
        }, "the new leader to take writes");
        assert.equal(written.reply, "OK");
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

Deno.test("--read-mode lease: CONFIG SET raft.quorum-reads no, then yes, returns to lease reads", async () => {
  const args = [...fastTimers, "--read-mode", "lease", "--election-timeout-ms", "2000"];
  const nodes: NodeProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await NodeProcess.start({ args }));
    const cluster = new TestCluster(nodes);
    const first = await nodes[0].client();
    // Before INIT: the core that INIT opens must read with leases again.
    assert.equal(await first.call("CONFIG", "SET", "raft.quorum-reads", "no"), "OK");
    assert.equal(await first.call("CONFIG", "SET", "raft.quorum-reads", "yes"), "OK");
    assert.deepEqual(await first.call("CONFIG", "GET", "raft.quorum-reads"), [
      "raft.quorum-reads",
      "yes",
    ]);
    assert.match(String(await first.call("RAFT.CLUSTER", "INIT")), /^OK/);
    for (const node of nodes.slice(1)) await cluster.join(node, nodes[0]);
    await cluster.waitConverged();
    assert.equal(await cluster.leader(), nodes[0]);
    assert.equal(await first.call("SET", "k", "v"), "OK");
    for (const node of nodes.slice(1)) Deno.kill(node.process!.pid, "SIGSTOP");
    try {
      // Within the lease the leader answers alone; a ReadIndex round would have no quorum.
      assert.equal(await first.call("GET", "k"), "v");
    } finally {
      for (const node of nodes.slice(1)) Deno.kill(node.process!.pid, "SIGCONT");
    }
    first.close();
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
});
