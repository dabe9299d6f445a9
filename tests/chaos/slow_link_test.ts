/**
 * @module
 * The `slowlink` nemesis's network really is slow, and really recovers: a redis-server in a
 * node's namespace takes a 256 KiB SET, and answers the GET of it, in well under a second at full
 * speed, in seconds each way through a 1 Mbit/s link (2 Mbit to carry), and quickly again once
 * the link is restored.
 */
import assert from "node:assert/strict";
import { NamespaceNetwork } from "./network.ts";
import { callOnce } from "./resp_connection.ts";

const valueBytes = 256 * 1024;
const slowRateKbit = 1024;

/** Milliseconds to send 256 KiB to the server (SET) and to receive them back (GET). */
async function timedTransfersMs(addr: string): Promise<{ inMs: number; outMs: number }> {
  const value = "v".repeat(valueBytes);
  const startMs = performance.now();
  assert.equal(await callOnce(addr, ["SET", "k", value], 20_000), "OK");
  const setMs = performance.now();
  assert.equal(await callOnce(addr, ["GET", "k"], 20_000), value);
  return { inMs: setMs - startMs, outMs: performance.now() - setMs };
}

function assertTransfers(
  transfers: { inMs: number; outMs: number },
  slow: boolean,
  what: string,
): void {
  for (const [direction, ms] of Object.entries(transfers)) {
    // 2 Mbit at 1 Mbit/s: about 2 s (the bucket's 16 KiB burst aside).
    const ok = slow ? ms > 1500 : ms < 1000;
    assert.ok(ok, `${what}, ${direction}: ${ms.toFixed(0)} ms`);
  }
}

Deno.test({
  name: "a slow link carries a node's traffic at its rate until it is restored",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const network = await NamespaceNetwork.create();
    assert.ok(network, "network namespaces are needed (run as root with `ip netns`)");
    let server: Deno.ChildProcess | undefined;
    try {
      await network.prepare(0);
      const addr = network.addrOf(0);
      const argv = network.wrap(0, [
        "redis-server",
        "--bind",
        addr.split(":")[0],
        "--port",
        addr.split(":")[1],
        "--save",
        "",
        "--appendonly",
        "no",
        // Reached from the test's bridge, not from loopback; the namespace is the test's own.
        "--protected-mode",
        "no",
      ]);
      server = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" })
        .spawn();
      let pong = null;
      for (let attempt = 0; attempt < 100 && pong !== "PONG"; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        pong = await callOnce(addr, ["PING"], 500).catch(() => null);
      }
      assert.equal(pong, "PONG", "redis-server in the namespace");
      assertTransfers(await timedTransfersMs(addr), false, "full speed");
      await network.slowLink(0, slowRateKbit, 500);
      assertTransfers(await timedTransfersMs(addr), true, "slow link");
      await network.restoreLink(0);
      assertTransfers(await timedTransfersMs(addr), false, "restored");
    } finally {
      server?.kill("SIGKILL");
      await server?.status;
      await network.destroy();
    }
  },
});
