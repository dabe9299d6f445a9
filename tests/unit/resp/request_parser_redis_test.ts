/**
 * Cross-checks the request parser against a real redis-server 7.0: the same
 * bytes must give the same replies, the same error text and the same verdict
 * on closing the connection.
 */
import assert from "node:assert/strict";
import { RequestParser } from "../../../src/resp/request_parser.ts";
import { ProtocolError } from "../../../src/resp/protocol_error.ts";
import { bytes, latin1, ThrowawayRedis } from "./resp_test_helpers.ts";

/** What redis-server should answer, predicted from our parse (commands are PING or ECHO). */
function predictedExchange(request: string): { reply: string; closed: boolean } {
  const parser = new RequestParser();
  parser.push(bytes(request));
  let reply = "";
  try {
    for (let cmd = parser.next(); cmd !== null; cmd = parser.next()) {
      const [name, ...rest] = cmd.map(latin1);
      if (name === "PING") reply += "+PONG\r\n";
      else if (name === "ECHO") reply += `$${rest[0].length}\r\n${rest[0]}\r\n`;
      else throw new Error(`test only predicts PING and ECHO, got ${name}`);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { reply: reply + latin1(error.reply()), closed: true };
  }
  return { reply, closed: false };
}

const REQUESTS = [
  "*1\r\nX\r\n",
  "*1\r\n\r\n",
  "*1\r\n\n\r\n",
  "*1\r\n\xff\r\n",
  "*1\r\n\x00\r\n",
  "*1\rX$4\r\nPINGXY*1\r\n$4\r\nPING\r\n",
  "*-5\r\n*0\r\nPING\r\n",
  "*3000000000\r\n",
  "*-0\r\n",
  "*01\r\n",
  "*+1\r\n",
  "* 1\r\n",
  "*\r\n",
  "*-9223372036854775808\r\nPING\r\n",
  "*-9223372036854775809\r\n",
  "*99999999999999999999\r\n",
  "*1\r\n$-1\r\n",
  "*1\r\n$\r\n",
  "*1\r\n$01\r\n",
  "*1\r\n$600000000\r\n",
  "*1\r\n$4\r\nPING\r\n*1\r\nZ\r\n",
  'PING "a\r\n',
  'ECHO "a"b\r\n',
  "ECHO 'a\\'b'\r\n",
  'ECHO "\\x41\\x4g\\n\\r\\t\\b\\a\\z"\r\n',
  "ECHO a\x00b\r\n",
  "\r\n\nPING\r\n",
  "ECHO a\x0bb\r\n",
  'ECHO x"ab c"\r\n',
  'ECHO "a"\x0b\r\n',
  'ECHO "a\\"\r\n',
  "ECHO ''\r\nECHO \"\"\n",
  "PING\nPING\r\n",
  "x".repeat(70000),
  "*" + "1".repeat(70000),
  "*1\r\n$" + "1".repeat(70000),
];

Deno.test("parser agrees with redis-server 7.0 on replies, error texts and closing", async () => {
  const redis = await ThrowawayRedis.start();
  try {
    for (const request of REQUESTS) {
      const expected = predictedExchange(request);
      const actual = await redis.exchange(bytes(request), expected.closed ? 2000 : 150);
      assert.deepEqual(actual, expected, JSON.stringify(request.slice(0, 60)));
    }
  } finally {
    await redis.stop();
  }
});

Deno.test("unauthenticated limits agree with redis-server 7.0 started with requirepass", async () => {
  const redis = await ThrowawayRedis.start(["--requirepass", "pw"]);
  try {
    for (const request of ["*11\r\n", "*2\r\n$4\r\nAUTH\r\n$16385\r\n"]) {
      const parser = new RequestParser({ authRequired: true });
      parser.push(bytes(request));
      let expected = "";
      try {
        parser.next();
      } catch (error) {
        assert.ok(error instanceof ProtocolError);
        expected = latin1(error.reply());
      }
      assert.deepEqual(await redis.exchange(bytes(request), 2000), {
        reply: expected,
        closed: true,
      }, JSON.stringify(request));
    }
  } finally {
    await redis.stop();
  }
});
