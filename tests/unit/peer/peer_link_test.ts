/**
 * PeerLink against a real listener on 127.0.0.1: the RAFT.HELLO handshake and messages in
 * order, `retryNow` cutting a grown reconnect backoff short, `restart` connecting anew, and the
 * silence of a peer that acknowledges nothing.
 */
import assert from "node:assert/strict";
import { messageCommand, PeerLink, type PeerLinkOptions } from "../../../src/peer/peer_link.ts";
import { decodeMessage } from "../../../src/peer/message_codec.ts";
import { type Message, MessageType } from "../../../src/raft/mod.ts";
import { encodeCommand, RequestParser } from "../../../src/resp/mod.ts";

const decoder = new TextDecoder();

/** A RAFT.MSG command carrying `text`, as the parts `send` takes. */
function msg(text: string): Uint8Array[] {
  return [encodeCommand(["RAFT.MSG", text])];
}

function options(reconnectMinMs: number): PeerLinkOptions {
  return {
    selfId: 7,
    selfAddr: "127.0.0.1:1",
    password: "",
    queueMaxBytes: 1 << 20,
    connectTimeoutMs: 1000,
    reconnectMinMs,
    reconnectMaxMs: 60_000,
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Accepts one connection and returns the first `count` commands it sends, as strings. */
async function acceptCommands(listener: Deno.Listener, count: number): Promise<string[][]> {
  const conn = await listener.accept();
  const parser = new RequestParser();
  const buffer = new Uint8Array(4096);
  const commands: string[][] = [];
  try {
    while (commands.length < count) {
      const n = await conn.read(buffer);
      if (n === null) break;
      parser.push(buffer.subarray(0, n));
      for (let args = parser.next(); args !== null; args = parser.next()) {
        commands.push(args.map((arg) => decoder.decode(arg)));
      }
    }
  } finally {
    conn.close();
  }
  return commands;
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("PeerLink says RAFT.HELLO, then sends queued messages in order", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const link = new PeerLink(2, `127.0.0.1:${port}`, options(100));
  try {
    link.send(msg("first"));
    link.send(msg("second"));
    const commands = await acceptCommands(listener, 3);
    assert.deepEqual(commands, [
      ["RAFT.HELLO", "7", "127.0.0.1:1"],
      ["RAFT.MSG", "first"],
      ["RAFT.MSG", "second"],
    ]);
  } finally {
    link.close();
    listener.close();
  }
});

Deno.test("PeerLink.retryNow connects at once instead of after the grown backoff", async () => {
  const port = freePort();
  // Nothing listens: the first attempt fails and the next waits 2.5-5 s.
  const link = new PeerLink(2, `127.0.0.1:${port}`, options(5000));
  let listener: Deno.Listener | null = null;
  try {
    await waitUntil(() => link.connErrors >= 1, 2000);
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    const startedMs = performance.now();
    link.retryNow();
    const commands = await acceptCommands(listener, 1);
    assert.deepEqual(commands[0], ["RAFT.HELLO", "7", "127.0.0.1:1"]);
    const tookMs = performance.now() - startedMs;
    assert.ok(tookMs < 2000, `connected ${Math.round(tookMs)} ms after retryNow`);
  } finally {
    link.close();
    listener?.close();
  }
});

Deno.test("PeerLink.restart drops its connection and queue, and says hello on a new one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const link = new PeerLink(2, `127.0.0.1:${port}`, options(50));
  try {
    const first = await listener.accept();
    await waitUntil(() => link.state === "connected", 2000);
    link.restart();
    const buffer = new Uint8Array(4096);
    const drained = (async () => {
      for (let i = 0; i < 100; i++) if ((await first.read(buffer)) === null) return true;
      return false;
    })().catch(() => false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      drained,
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 2000)),
    ]);
    clearTimeout(timer);
    first.close();
    assert.ok(ended, "the old connection is closed");
    link.send(msg("after"));
    const commands = await acceptCommands(listener, 2);
    assert.deepEqual(commands, [["RAFT.HELLO", "7", "127.0.0.1:1"], ["RAFT.MSG", "after"]]);
    assert.equal(link.connErrors, 0, "a restart is no connection error");
  } finally {
    link.close();
    listener.close();
  }
});

Deno.test("PeerLink.silentForMs counts from the oldest write the peer has not acknowledged", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const link = new PeerLink(2, `127.0.0.1:${port}`, options(50));
  const encoder = new TextEncoder();
  try {
    const first = await listener.accept();
    await waitUntil(() => link.state === "connected", 2000);
    // The hello answered, then nothing: a peer that sends no progress acks (an older version)
    // is never judged silent.
    await first.write(encoder.encode("+OK\r\n"));
    link.send(msg("to an old peer"));
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(link.silentForMs(performance.now()), 0, "a peer without progress acks");
    await first.write(encoder.encode("+OK\r\n")); // a progress ack
    await waitUntil(() => link.silentForMs(performance.now()) === 0, 2000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(link.silentForMs(performance.now()), 0, "nothing sent since the answer");
    link.send(msg("unanswered"));
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.ok(link.silentForMs(performance.now()) >= 100, "an unanswered message");
    link.dropSilent();
    assert.equal(link.connErrors, 1, "a silent peer's connection counts as failed");
    const commands = await acceptCommands(listener, 1);
    assert.deepEqual(commands[0], ["RAFT.HELLO", "7", "127.0.0.1:1"]);
    first.close();
  } finally {
    link.close();
    listener.close();
  }
});

Deno.test("messageCommand: large entries go by reference, and the peer reads the same message", async () => {
  const big = new Uint8Array(200 * 1024).map((_, i) => i % 251);
  const message: Message = {
    type: MessageType.AppendEntries,
    from: 7,
    to: 2,
    term: 3,
    prevIndex: 9,
    prevTerm: 2,
    commit: 9,
    entries: [
      { index: 10, term: 3, type: 0, data: new Uint8Array([1, 2, 3]) },
      { index: 11, term: 3, type: 0, data: big },
      { index: 12, term: 3, type: 0, data: new Uint8Array([4]) },
    ],
  }; // deno-fmt-ignore
  const parts = messageCommand(message);
  assert.ok(parts.includes(big), "the large entry is a part of its own, not a copy");
  assert.ok(parts.every((part) => part === big || part.length < 1024), "nothing else is large");

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const link = new PeerLink(2, `127.0.0.1:${port}`, options(100));
  try {
    link.send(parts);
    const conn = await listener.accept();
    const parser = new RequestParser();
    const buffer = new Uint8Array(64 * 1024);
    const commands: Uint8Array[][] = [];
    for (let reads = 0; commands.length < 2 && reads < 1000; reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      parser.push(buffer.subarray(0, n));
      for (let args = parser.next(); args !== null; args = parser.next()) commands.push(args);
    }
    conn.close();
    assert.equal(decoder.decode(commands[1][0]), "RAFT.MSG");
    const limits = { entriesMaxCount: 100, entryMaxBytes: 1 << 20, chunkMaxBytes: 1 << 20 };
    assert.deepEqual(decodeMessage(commands[1][1], limits).message, message);
  } finally {
    link.close();
    listener.close();
  }
});
