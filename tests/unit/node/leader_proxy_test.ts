import assert from "node:assert/strict";
import { LeaderProxy } from "../../../src/node/leader_proxy.ts";
import { ReplyQueue } from "../../../src/server/reply_queue.ts";
import { encodeCommand } from "../../../src/resp/mod.ts";

/** Connections fill a listener that never accepts until its backlog is full (bounded). */
async function fillBacklog(port: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < 8192; i++) {
    const attempt = Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await Promise.race([
      attempt,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)),
    ]);
    if (conn === null) {
      attempt.then((late) => late.close(), () => {});
      return conns;
    }
    conns.push(conn);
  }
  throw new Error("the listener's backlog never filled");
}

Deno.test({
  name:
    "follower proxy: a leader that never answers the connect fails the request within the timeout",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // A full backlog drops SYNs, as a partition does: the connect itself hangs.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const held = await fillBacklog(port);
    try {
      const proxy = new LeaderProxy(() => 300, () => "");
      const queue = new ReplyQueue(() => Promise.resolve(), () => {});
      const slot = queue.take();
      const startMs = performance.now();
      proxy.forward(`127.0.0.1:${port}`, encodeCommand(["GET", "k"]), slot);
      for (let i = 0; i < 60 && !slot.done; i++) await new Promise((r) => setTimeout(r, 50));
      const waitedMs = performance.now() - startMs;
      assert.ok(slot.done, "the request is still waiting after 3 s");
      assert.match(new TextDecoder().decode(slot.reply!), /^-NOTLEADER Failed to proxy command/);
      assert.ok(waitedMs < 2000, `answered after ${waitedMs.toFixed(0)} ms`);
      proxy.reset();
    } finally {
      for (const conn of held) conn.close();
      listener.close();
    }
  },
});
