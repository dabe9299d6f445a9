import assert from "node:assert/strict";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";
import { concatBytes } from "../../../src/resp/bytes.ts";
import { command, connect, withChildren } from "./rdb_test_helpers.ts";
import { survivorCount } from "../../helpers/collectable.ts";

Deno.test("commands sent without replies run in order between replied ones; drained() waits for them", async () => {
  await withChildren(async (make) => {
    const { child } = make("replies");
    await child.start();
    const connection = await connect(child);
    try {
      const replies: string[] = [];
      const text = (frame: Uint8Array) => replies.push(new TextDecoder().decode(frame));
      connection.send(encodeCommand(["SET", "k", "1"]), 1, text);
      for (let i = 0; i < 1000; i++) connection.sendWithoutReply(encodeCommand(["INCR", "k"]));
      connection.sendWithoutReply(encodeCommand(["LPUSH", "k", "wrong type"])); // error unseen
      connection.send(encodeCommand(["GET", "k"]), 1, text);
      connection.sendWithoutReply(encodeCommand(["INCR", "k"]));
      await connection.drained();
      assert.deepEqual(replies, ["+OK\r\n", "$4\r\n1001\r\n"], "no stray reply was matched");
      assert.equal(connection.inflightCount, 0);
      // The last INCR ran before drained() resolved (seen from another connection)...
      const other = await connect(child);
      assert.equal(await command(other, "GET", "k"), "1002");
      // ... also when nothing with a reply was in flight.
      for (let i = 0; i < 2000; i++) connection.sendWithoutReply(encodeCommand(["INCR", "k"]));
      assert.equal(connection.inflightCount, 0);
      await connection.drained();
      assert.equal(await command(other, "GET", "k"), "3002");
      other.close();
      // Replies are back on for what follows.
      assert.equal(await command(connection, "GET", "k"), "3002");
      const frame = await connection.request(encodeCommand(["INCR", "k"]));
      assert.equal(new TextDecoder().decode(frame), ":3003\r\n");
    } finally {
      connection.close();
    }
  });
});

Deno.test("each command is answered in the RESP version it asks for, interleaved on one connection", async () => {
  await withChildren(async (make) => {
    const { child } = make("protocols");
    await child.start();
    const connection = await connect(child);
    try {
      const replies: string[] = [];
      const text = (frame: Uint8Array) => replies.push(new TextDecoder().decode(frame));
      connection.send(encodeCommand(["HSET", "h", "f", "v"]), 1, text);
      const order: (2 | 3)[] = [3, 3, 2, 3, 2, 2, 3];
      for (const protocol of order) {
        connection.send(encodeCommand(["HGETALL", "h"]), 1, text, protocol);
        connection.sendWithoutReply(encodeCommand(["SET", "n", "1"])); // no reply: no switch
        connection.send(encodeCommand(["GET", "missing"]), 1, text, protocol);
      }
      await connection.drained();
      const expected = [":1\r\n"];
      for (const protocol of order) {
        expected.push(
          protocol === 3 ? "%1\r\n$1\r\nf\r\n$1\r\nv\r\n" : "*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
          protocol === 3 ? "_\r\n" : "$-1\r\n",
        );
      }
      assert.deepEqual(replies, expected);
      // A transaction's replies come in one protocol; the default is RESP2 again.
      const transaction = concatBytes([
        encodeCommand(["MULTI"]),
        encodeCommand(["HGETALL", "h"]),
        encodeCommand(["EXEC"]),
      ]);
      const exec = await connection.request(transaction, 3, 3);
      assert.equal(new TextDecoder().decode(exec), "*1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
      assert.equal(await command(connection, "GET", "missing"), null);
      const frame = await connection.request(encodeCommand(["GET", "missing"]));
      assert.equal(new TextDecoder().decode(frame), "$-1\r\n");
    } finally {
      connection.close();
    }
  });
});

Deno.test("replies already handed out are not kept alive by the connection", async () => {
  await withChildren(async (make) => {
    const { child } = make("retention");
    await child.start();
    const connection = await connect(child);
    try {
      assert.equal(await command(connection, "SET", "big", "x".repeat(512 * 1024)), "OK");
      const refs: WeakRef<object>[] = [];
      for (let i = 0; i < 5; i++) {
        refs.push(new WeakRef(await connection.request(encodeCommand(["GET", "big"]))));
      }
      // The read loop's own variables may hold the latest reply until the next one.
      assert.equal(await command(connection, "PING"), "PONG");
      assert.equal(await survivorCount(refs), 0);
    } finally {
      connection.close();
    }
  });
});

Deno.test("answerOverdue answers the waiters of commands sent long enough ago and still unanswered", async () => {
  await withChildren(async (make) => {
    const { child } = make("overdue");
    await child.start();
    const connection = await connect(child);
    const decoder = new TextDecoder();
    const timeoutFrame = new TextEncoder().encode("-TIMEOUT\r\n");
    class Waiter {
      answers: string[] = [];
      complete(reply: Uint8Array) {
        this.answers.push(decoder.decode(reply));
      }
    }
    const replies: string[] = [];
    const record = (frame: Uint8Array) => replies.push(decoder.decode(frame));
    try {
      let answered: Waiter | undefined = new Waiter();
      const answeredRef = new WeakRef(answered);
      await new Promise<void>((resolve) =>
        connection.send(encodeCommand(["PING"]), 1, () => resolve(), 2, answered)
      );
      answered = undefined;
      // The clock here is the caller's: these are milliseconds as answerOverdue is told them.
      const blocked = new Waiter();
      const behind = new Waiter();
      connection.send(encodeCommand(["BLPOP", "queue", "0"]), 1, record, 2, blocked);
      connection.send(encodeCommand(["ECHO", "behind"]), 1, record, 2, behind);
      connection.answerOverdue(0, 1000, timeoutFrame);
      connection.answerOverdue(500, 1000, timeoutFrame);
      const later = new Waiter();
      connection.send(encodeCommand(["ECHO", "later"]), 1, record, 2, later);
      connection.answerOverdue(600, 1000, timeoutFrame);
      assert.deepEqual([blocked.answers, behind.answers, later.answers], [[], [], []]);
      assert.equal(await survivorCount([answeredRef]), 0, "an answered waiter is not kept");

      connection.answerOverdue(1000, 1000, timeoutFrame);
      assert.deepEqual([blocked.answers, behind.answers, later.answers], [
        ["-TIMEOUT\r\n"],
        ["-TIMEOUT\r\n"],
        [],
      ]);
      connection.answerOverdue(1600, 1000, timeoutFrame);
      connection.answerOverdue(5000, 1000, timeoutFrame);
      assert.deepEqual(later.answers, ["-TIMEOUT\r\n"], "each waiter is answered once");

      // The late replies still reach their callbacks, in order.
      const other = await connect(child);
      assert.equal(await command(other, "RPUSH", "queue", "item"), 1);
      other.close();
      assert.equal(await command(connection, "ECHO", "next"), "next");
      assert.deepEqual(replies, [
        "*2\r\n$5\r\nqueue\r\n$4\r\nitem\r\n",
        "$6\r\nbehind\r\n",
        "$5\r\nlater\r\n",
      ]);
    } finally {
      connection.close();
    }
  });
});
