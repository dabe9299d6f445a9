/**
 * PeerHub against a real listener on 127.0.0.1 that acknowledges once, then nothing: the link to it
 * is dropped as silent after the response timeout, but not right after this node's own loop was
 * held up.
 */
import assert from "node:assert/strict";
import { PeerHub } from "../../../src/peer/peer_hub.ts";
import { MessageType } from "../../../src/raft/mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("PeerHub drops a link whose peer acknowledges nothing, unless its own loop just stalled", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const hub = new PeerHub({
    selfId: 1,
    selfAddr: "127.0.0.1:1",
    password: "",
    queueMaxBytes: 1 << 20,
    connectTimeoutMs: 1000,
    reconnectMinMs: 50,
    reconnectMaxMs: 1000,
  });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for (let i = 0; i < 10; i++) {
      const conn = await listener.accept();
      accepted.push(conn);
      // The hello's reply and one progress ack, then silence.
      if (i === 0) await conn.write(new TextEncoder().encode("+OK\r\n+OK\r\n"));
    }
  })().catch(() => {});
  try {
    hub.updateMembership({
      members: [{ id: 1, addr: "127.0.0.1:1", voter: true }, { id: 2, addr, voter: true }],
      usedNodeIds: [1, 2],
    });
    const link = hub.links.get(2)!;
    for (let i = 0; i < 100 && link.state !== "connected"; i++) await sleep(10);
    assert.equal(link.state, "connected");
    const timeoutMs = 300;
    // The first check has nothing to compare with: as after a stall, nothing is dropped.
    assert.deepEqual(hub.dropSilentLinks(performance.now(), timeoutMs), []);
    await sleep(50);
    hub.send({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, commit: 0, readSeq: 0 });
    await sleep(timeoutMs + 50);
    assert.ok(link.silentForMs(performance.now()) > timeoutMs, "the heartbeat is unacknowledged");
    assert.deepEqual(hub.dropSilentLinks(performance.now(), timeoutMs), [], "a gap: a stall");
    await sleep(20);
    assert.deepEqual(hub.dropSilentLinks(performance.now(), timeoutMs), [2]);
    assert.equal(link.connErrors, 1);
  } finally {
    hub.close();
    listener.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});
