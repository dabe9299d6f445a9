/**
 * Unit: the step budget's rewrite of Lua source. Checks go after `do`, `repeat` and parameter
 * lists, never inside strings or comments, and never change a line number; rewritten scripts
 * answer on a real redis-server exactly as the originals do, until they run out of steps.
 */
import assert from "node:assert/strict";
import {
  boundSteps,
  stepBudgetPrologue,
  stepCheck,
  stepLimitError,
} from "../../../src/server/lua_step_budget.ts";
import { RespClient } from "../../helpers/resp_client.ts";
import { startPlainRedis } from "../../helpers/plain_redis.ts";

const check = stepCheck(7);
/** The rewrite with each check shown as `@`. */
const marked = (source: string) => boundSteps(source, 7).split(check).join("@");

Deno.test("checks go after do, repeat and every function's parameters", () => {
  assert.equal(marked("while x do y() end"), "while x do@ y() end");
  assert.equal(marked("for i=1,3 do end"), "for i=1,3 do@ end");
  assert.equal(marked("for k, v in pairs(t) do f(k) end"), "for k, v in pairs(t) do@ f(k) end");
  assert.equal(marked("repeat n=n+1 until n>3"), "repeat@ n=n+1 until n>3");
  assert.equal(
    marked("local function f(a, b) return a end"),
    "local function f(a, b)@ return a end",
  );
  assert.equal(marked("function t.a.b:c(...) end"), "function t.a.b:c(...)@ end");
  assert.equal(marked("f(function() end, (1))"), "f(function()@ end, (1))");
  assert.equal(marked("do local x = (1) end"), "do@ local x = (1) end");
  assert.equal(marked("local done, dot, redo = 1, 2, 3"), "local done, dot, redo = 1, 2, 3");
});

Deno.test("a script's names of the sandbox's form get one more leading u; strings keep theirs", () => {
  assert.equal(marked("__raft_n = 0"), "u__raft_n = 0");
  assert.equal(marked("local __raft_x, u__raft_y = 1, 2"), "local u__raft_x, uu__raft_y = 1, 2");
  assert.equal(marked("return t.__raft_stop, '__raft_n'"), "return t.u__raft_stop, '__raft_n'");
  assert.equal(
    marked("local _raft_n, __raft, u_raft_x, raft__raft_"),
    "local _raft_n, __raft, u_raft_x, raft__raft_",
  );
});

Deno.test("strings, comments and numbers are skipped, and lines stay where they were", () => {
  const untouched = [
    `return "do repeat function()"`,
    `return 'it\\'s do' .. "a \\"do\\""`,
    "return [[do\nrepeat]] .. [==[ ]] do ]==]",
    "-- do repeat function()\nreturn 1",
    "--[[ do\n function() ]] return 1",
    "--[=[ ]] do ]=] return 1",
    "return 1e-5 + 0x1F + 3.5e+2 + .5",
    'return "unterminated do',
  ];
  for (const source of untouched) assert.equal(boundSteps(source, 7), source, source);
  const source = "local s = [[\ndo]]\nwhile true do -- do\n  break\nend\nreturn 'do'";
  const bounded = boundSteps(source, 7);
  assert.equal(bounded.split("\n").length, source.split("\n").length);
  assert.equal(
    marked(source),
    "local s = [[\ndo]]\nwhile true do@ -- do\n  break\nend\nreturn 'do'",
  );
});

/** Scripts that must answer the same with and without the checks. */
const corpus = [
  "local s = 0 for i = 1, 100 do s = s + i end return s",
  "local t = {} for k, v in pairs({a = 1, b = 2}) do t[#t + 1] = k .. v end table.sort(t) return t",
  "local n = 0 repeat n = n + 1 local m = n until m >= 5 return n",
  "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end return fib(15)",
  "local t = setmetatable({}, {__index = function(t, k) return k * 2 end}) return t[21]",
  "local s = string.gsub('a-b-c', '-', function(c) return '+' end) return s",
  "return [[do\nrepeat]] .. 'function()' -- do",
  "local x = 0 do local y = 2 x = y end return x",
  "local ok, err = pcall(function() error({err = 'ERR mine'}) end) return err.err",
  "local c = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) return c() + c() + c()",
  "local a = {1, 2, 3} local s = 0 for i = #a, 1, -1 do s = s * 10 + a[i] end return s",
  "return redis.call('PING')",
];

Deno.test("rewritten scripts answer as the originals on a real redis-server", async () => {
  const plain = await startPlainRedis([]);
  const client = await RespClient.connect(plain.port);
  try {
    for (const script of corpus) {
      const expected = await client.callRaw("EVAL", script, "0");
      const bounded = stepBudgetPrologue() + " " + boundSteps(script, 1_000_000);
      assert.equal(await client.callRaw("EVAL", bounded, "0"), expected, script);
    }
    // Out of steps: every kind of loop and call ends with the budget's error, pcall or not.
    const endless = [
      "while true do end",
      "repeat until false",
      "for i = 1, math.huge do end",
      "local function f() return f() end return f()",
      "while true do pcall(function() while true do end end) end",
      "local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) return t[1]",
    ];
    for (const script of endless) {
      const bounded = stepBudgetPrologue() + " " + boundSteps(script, 10_000);
      const reply = await client.callRaw("EVAL", bounded, "0");
      assert.ok(
        reply.startsWith(`-${stepLimitError}`) || reply.includes("stack overflow"),
        `${script}: ${reply}`,
      );
    }
    const partly = stepBudgetPrologue() + " " +
      boundSteps("local n = 0 for i = 1, 100 do n = n + 1 end return n", 50);
    assert.match(await client.callRaw("EVAL", partly, "0"), /step limit/);
  } finally {
    client.close();
    await plain.stop();
  }
});
