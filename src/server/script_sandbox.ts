/**
 * @module
 * Makes Lua scripts and functions deterministic on every node, as RedisRaft does: a prologue
 * shadows `redis` with a copy whose `call`/`pcall` refuse commands with random results and sort
 * replies whose order is unstable (KEYS, SMEMBERS, HGETALL, ...), so replaying a script on any
 * node computes the same result. The lists come from the child's COMMAND tips
 * (`nondeterministic_output`, `nondeterministic_output_order`). The body's loops and functions
 * count their steps against a budget (see lua_step_budget.ts), so no script runs forever.
 */
import type { CommandTable } from "../redis/command_table.ts";
import {
  boundSteps,
  stepBudgetPrologue,
  stepCounterName,
  stepLoadingName,
} from "./lua_step_budget.ts";

/** Fields of the `redis` API copied into the shadow table (no `pairs` at function load time). */
const redisApiFields = [
  "error_reply",
  "status_reply",
  "sha1hex",
  "log",
  "LOG_DEBUG",
  "LOG_VERBOSE",
  "LOG_NOTICE",
  "LOG_WARNING",
  "setresp",
  "set_repl",
  "replicate_commands",
  "REPL_ALL",
  "REPL_AOF",
  "REPL_REPLICA",
  "REPL_SLAVE",
  "REPL_NONE",
  "breakpoint",
  "debug",
  "acl_check_cmd",
  "REDIS_VERSION",
  "REDIS_VERSION_NUM",
]; // deno-fmt-ignore

/** Commands whose reply is a flat field/value list, sorted by field. */
const pairReplies = new Set(["hgetall", "config|get"]);

/**
 * Steps a function library's own code may take while it loads. Redis stops a load after 500 ms
 * of its clock, which could fail on one node and pass on another: this budget ends it first,
 * at the same step everywhere.
 */
export const libraryLoadStepsMaxCount = 1_000_000;

export const randomCommandError = "ERR Cannot run a command with random results in this context";

/** Sandboxed texts kept for scripts seen again (oldest dropped first), up to this size each. */
const wrappedCacheMaxCount = 256;
const wrappedCacheBodyMaxChars = 16 * 1024;

export class ScriptSandbox {
  readonly prologue: string;
  private readonly wrapped = new Map<string, string>();

  constructor(table: CommandTable, private readonly stepsMaxCount: number) {
    const random: string[] = [];
    const sorted: string[] = [];
    for (const info of table.all()) {
      if (info.tips.has("nondeterministic_output")) random.push(info.name);
      else if (info.tips.has("nondeterministic_output_order")) sorted.push(info.name);
    }
    const set = (names: string[]) =>
      `{${names.sort().map((n) => `[${JSON.stringify(n)}]=true`).join(",")}}`;
    this.prologue = [
      // The global `redis` is looked up at call time: function libraries see a different table
      // at load time than when their functions run.
      "local function __raft_api() return redis end",
      stepBudgetPrologue(),
      `local __raft_random = ${set(random)}`,
      `local __raft_sorted = ${set(sorted.filter((n) => !pairReplies.has(n)))}`,
      `local __raft_pairs = ${set([...pairReplies])}`,
      // A table filled in sorted key order has the same layout (so `pairs` order, and the
      // order of a RESP3 map or set reply) on every node; the child's own order is its hash
      // table's, which differs between processes.
      "local function __raft_rebuild(t)",
      "  local keys = {}",
      "  for k in pairs(t) do keys[#keys + 1] = k end",
      "  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)",
      "  local out = {}",
      "  for i = 1, #keys do out[keys[i]] = t[keys[i]] end",
      "  return out",
      "end",
      "local function __raft_fix(name, reply)",
      "  if type(reply) ~= 'table' or reply.err or reply.ok then return reply end",
      "  if type(reply.map) == 'table' then return {map = __raft_rebuild(reply.map)} end",
      "  if type(reply.set) == 'table' then return {set = __raft_rebuild(reply.set)} end",
      "  if __raft_sorted[name] then table.sort(reply) return reply end",
      "  if __raft_pairs[name] then",
      "    local kv = {}",
      "    for i = 1, #reply, 2 do kv[#kv + 1] = {reply[i], reply[i + 1]} end",
      "    table.sort(kv, function(a, b) return a[1] < b[1] end)",
      "    local out = {}",
      "    for i = 1, #kv do out[#out + 1] = kv[i][1]; out[#out + 1] = kv[i][2] end",
      "    return out",
      "  end",
      "  return reply",
      "end",
      "local redis = {}",
      // The API is resolved inside the function bodies: at library load time it is off limits.
      "local function __raft_call(cmd, ...)",
      "  local name = string.lower(cmd)",
      `  if __raft_random[name] then error(__raft_api().error_reply(${
        JSON.stringify(randomCommandError)
      })) end`,
      "  return __raft_fix(name, __raft_api().call(cmd, ...))",
      "end",
      "local function __raft_pcall(cmd, ...)",
      "  local name = string.lower(cmd)",
      `  if __raft_random[name] then return __raft_api().error_reply(${
        JSON.stringify(randomCommandError)
      }) end`,
      "  return __raft_fix(name, __raft_api().pcall(cmd, ...))",
      "end",
      "local __raft_filled = false",
      // Copy the API at run time: while a function library loads, most of it is off limits.
      "local function __raft_fill()",
      "  if __raft_filled then return end",
      "  __raft_filled = true",
      "  local api = __raft_api()",
      ...redisApiFields.map((f) => `  redis.${f} = api.${f}`),
      "  redis.call = __raft_call",
      "  redis.pcall = __raft_pcall",
      "end",
      // A library's function starts with the whole step budget at each call.
      "local function __raft_start()",
      "  __raft_fill()",
      `  ${stepLoadingName} = false`,
      `  ${stepCounterName} = 0`,
      "end",
      "local function __raft_register(a, b)",
      "  if b == nil then",
      "    local callback = a.callback",
      "    a.callback = function(...) __raft_start() return callback(...) end",
      "    return __raft_api().register_function(a)",
      "  end",
      "  return __raft_api().register_function(a, function(...)",
      "    __raft_start() return b(...)",
      "  end)",
      "end",
      "redis.call = __raft_call",
      "redis.pcall = __raft_pcall",
      "redis.register_function = __raft_register",
      "redis.log = __raft_api().log",
    ].join(" ");
  }

  /**
   * The script (EVAL) or function library (FUNCTION LOAD, which starts with a `#!lua` line)
   * with the prologue inserted after any `#!` line, on the line the body starts on: Lua's
   * error messages keep the line numbers of the original.
   */
  wrap(body: string): string {
    // Clients run the same few scripts over and over: scanning one again costs about as much as
    // the rest of its request.
    const known = this.wrapped.get(body);
    if (known !== undefined) return known;
    const text = this.wrapAnew(body);
    if (body.length > wrappedCacheBodyMaxChars) return text;
    if (this.wrapped.size >= wrappedCacheMaxCount) {
      this.wrapped.delete(this.wrapped.keys().next().value!);
    }
    this.wrapped.set(body, text);
    return text;
  }

  private wrapAnew(body: string): string {
    if (body.startsWith("#!")) {
      const newline = body.indexOf("\n");
      const head = newline < 0 ? body + "\n" : body.slice(0, newline + 1);
      const isLibrary = /^#!lua\s.*name=/.test(head);
      const rest = newline < 0 ? "" : body.slice(newline + 1);
      const start = isLibrary
        ? `; ${stepLoadingName} = true ${stepCounterName} = ${
          Math.max(0, this.stepsMaxCount - libraryLoadStepsMaxCount)
        }; `
        : " __raft_fill(); ";
      return head + this.prologue + start + this.bounded(rest);
    }
    return this.prologue + " __raft_fill(); " + this.bounded(body);
  }

  private bounded(body: string): string {
    return boundSteps(body, this.stepsMaxCount);
  }
}
