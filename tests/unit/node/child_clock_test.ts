/** Unit: the RAFT.AT prefix put in front of each command for the child's clock. */
import assert from "node:assert/strict";
import { atTime } from "../../../src/node/child_clock.ts";
import { encodeCommand, RequestParser } from "../../../src/resp/mod.ts";

function commands(bytes: Uint8Array): string[][] {
  const parser = new RequestParser();
  parser.push(bytes);
  const out: string[][] = [];
  for (let args = parser.next(); args !== null; args = parser.next()) {
    out.push(args.map((a) => new TextDecoder().decode(a)));
  }
  return out;
}

Deno.test("atTime prefixes one command, or each command of a transaction", () => {
  const set = encodeCommand(["SET", "k", "v"]);
  assert.deepEqual(commands(atTime(set, 1, 1_795_721_302_959.7)), [
    ["RAFT.AT", "1795721302959", "SET", "k", "v"],
  ]);
  const many = new Uint8Array([
    ...encodeCommand(["MULTI"]),
    ...encodeCommand(["INCR", "c"]),
    ...encodeCommand(["EXEC"]),
  ]);
  assert.deepEqual(commands(atTime(many, 3, 5)), [
    ["RAFT.AT", "5", "MULTI"],
    ["RAFT.AT", "5", "INCR", "c"],
    ["RAFT.AT", "5", "EXEC"],
  ]);
  const tenArgs = encodeCommand(["DEL", ...Array.from({ length: 9 }, (_, i) => `k${i}`)]);
  assert.equal(commands(atTime(tenArgs, 1, 7))[0].length, 12, "a two-digit count is rewritten");
});
