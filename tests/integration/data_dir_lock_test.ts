/**
 * Integration: one node per data directory. A second node started on a running node's directory
 * (a duplicate service, a typo in --dir) refuses to start and names the holder; the running node
 * is untouched. Before the lock the second one took the running node's redis child for one
 * left by a crash, stopped it (the running node died of that) and served the same log.
 */
import assert from "node:assert/strict";
import { NodeProcess, waitFor } from "../helpers/node_process.ts";

Deno.test("a second node on a running node's data directory refuses to start; the first serves on", async () => {
  const first = await NodeProcess.start();
  const second = await NodeProcess.start({ dir: first.dir, logPath: `${first.dir}.second.log` })
    .catch((error) => error as Error);
  try {
    assert.ok(second instanceof Error, "the second node served");
    assert.match(second.message, /exited with code 1 before it served/);
    const secondLog = await Deno.readTextFile(`${first.dir}.second.log`);
    assert.match(
      secondLog,
      new RegExp(
        `data directory ${first.dir} is in use by another node \\(pid ${first.process!.pid}\\)`,
      ),
    );

    const client = await first.client();
    assert.match(String(await client.call("RAFT.CLUSTER", "INIT")), /^OK [0-9a-f]{32}$/);
    await waitFor(async () => await client.call("SET", "k", "v") === "OK", "a write");
    assert.equal(await client.call("GET", "k"), "v");
    client.close();

    // Stopped, it lets the next node have the directory: the same node, back.
    await first.stop();
    await first.spawn();
    const again = await first.client();
    await waitFor(async () => await again.call("GET", "k") === "v", "the data after a restart");
    again.close();
  } finally {
    await first.destroy();
    await Deno.remove(`${first.dir}.second.log`).catch(() => {});
  }
});
