/**
 * @module
 * Makes Lua scripts and functions deterministic on every node, as RedisRaft does: a prologue
 * shadows `redis` with a copy whose `call`/`pcall` refuse commands with random results and sort
 * replies whose order is unstable (KEYS, SMEMBERS, HGETALL, ...), so replaying a script on any
 * node computes the same result. The lists come from the child's COMMAND tips
 * (`nondeterministic_output`, `nondeterministic_output_order`). The body's loops and functions
 * count their steps against a budget (see lua_step_budget.ts), so no script runs forever.
 *
 * Redis leaves other ways to differ that the prologue closes: `_G` is a view whose `redis` is
 * the shadow; `loadstring` and `load` (whose code would run unchecked, with the real `redis`),
 * `gcinfo` and `collectgarbage` other than a collection (memory figures) are refused; `tostring`
 * of a table, function or coroutine names it by the order it was first named in, not its
 * address; and every run starts the PRNG (`math.random`) from the same seed, as Redis 6 did
 * (Redis 7 carries it on from run to run, and a read-only script runs on one node only).
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

/**
 * Shadows of the globals that would let nodes differ (see the module comment). `__raft_view`
 * builds the `_G` view at run time (while a library loads, globals are off limits);
 * `__raft_begin` starts a run: its names for tables and its PRNG.
 */
const sandboxGlobals = [
  "local function __raft_refuse(what, why)",
  "  error({err = 'ERR ' .. what .. ' is not allowed in scripts: ' .. why})",
  "end",
  "local function loadstring() __raft_refuse('loadstring', 'its code would run unchecked') end",
  "local function load() __raft_refuse('load', 'its code would run unchecked') end",
  "local function gcinfo() __raft_refuse('gcinfo', 'memory use differs between nodes') end",
  "local function collectgarbage(option)",
  "  if option == nil or option == 'collect' then return __raft_globals().collectgarbage() end",
  "  __raft_refuse(\"collectgarbage('\" .. __raft_globals().tostring(option) .. \"')\",",
  "    'memory use differs between nodes')",
  "end",
  "local __raft_names, __raft_named = nil, 0",
  "local function tostring(value)",
  "  local kind = type(value)",
  "  if kind ~= 'table' and kind ~= 'function' and kind ~= 'thread' then",
  "    return __raft_globals().tostring(value)",
  "  end",
  "  local meta = getmetatable(value)",
  "  if meta ~= nil and (type(meta) ~= 'table' or rawget(meta, '__tostring') ~= nil) then",
  "    return __raft_globals().tostring(value)",
  "  end",
  "  local name = __raft_names[value]",
  "  if name == nil then",
  "    __raft_named = __raft_named + 1",
  "    name = string.format('%s: 0x%08x', kind, __raft_named)",
  "    __raft_names[value] = name",
  "  end",
  "  return name",
  "end",
  "local function __raft_begin()",
  "  __raft_names = setmetatable({}, {__mode = 'k'})",
  "  __raft_named = 0",
  "  math.randomseed(0)",
  "end",
  "local _G",
  "local function __raft_view()",
  "  local real = __raft_globals()",
  "  local shadows = {redis = redis, loadstring = loadstring, load = load, gcinfo = gcinfo,",
  "    collectgarbage = collectgarbage, tostring = tostring}",
  "  _G = setmetatable({}, {",
  "    __index = function(_, key)",
  "      if key == '_G' then return _G end",
  "      local shadow = shadows[key]",
  "      if shadow ~= nil then return shadow end",
  "      return real[key]",
  "    end,",
  "    __newindex = function(_, key, value) real[key] = value end,",
  "    __metatable = false,",
  "  })",
  "end",
];

/** Commands whose reply is a flat field/value list, sorted by field. */
const pairReplies = new Set(["hgetall", "config|get", "command|docs"]);

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
    const parents: string[] = [];
    for (const info of table.all()) {
      if (info.subcommands) parents.push(info.name);
      if (info.tips.has("nondeterministic_output")) random.push(info.name);
      else if (info.tips.has("nondeterministic_output_order")) sorted.push(info.name);
    }
    const set = (names: string[]) =>
      `{${names.sort().map((n) => `[${JSON.stringify(n)}]=true`).join(",")}}`;
    this.prologue = [
      // The global `redis` is looked up at call time: function libraries see a different table
      // at load time than when their functions run.
      "local function __raft_api() return redis end",
      "local function __raft_globals() return _G end",
      stepBudgetPrologue(),
      `local __raft_random = ${set(random)}`,
      `local __raft_sorted = ${set(sorted.filter((n) => !pairReplies.has(n)))}`,
      `local __raft_pairs = ${set([...pairReplies])}`,
      // The tips of a command with subcommands are its subcommands' (`object|encoding`).
      `local __raft_parents = ${set(parents)}`,
      "local function __raft_name(cmd, sub)",
      "  local name = string.lower(cmd)",
      "  if __raft_parents[name] and sub ~= nil then",
      "    return name .. '|' .. string.lower(tostring(sub))",
      "  end",
      "  return name",
      "end",
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
      // Elements that are arrays (COMMAND's entries) go by their first element, the name.
      "local function __raft_first(v)",
      "  while type(v) == 'table' do v = v[1] end",
      "  return tostring(v)",
      "end",
      "local function __raft_before(a, b) return __raft_first(a) < __raft_first(b) end",
      "local function __raft_fix(name, reply)",
      "  if type(reply) ~= 'table' or reply.err or reply.ok then return reply end",
      "  if type(reply.map) == 'table' then return {map = __raft_rebuild(reply.map)} end",
      "  if type(reply.set) == 'table' then return {set = __raft_rebuild(reply.set)} end",
      "  if __raft_sorted[name] then",
      "    if type(reply[1]) == 'table' then table.sort(reply, __raft_before) else table.sort(reply) end",
      "    return reply",
      "  end",
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
      "  local name = __raft_name(cmd, (...))",
      `  if __raft_random[name] then error(__raft_api().error_reply(${
        JSON.stringify(randomCommandError)
      })) end`,
      "  return __raft_fix(name, __raft_api().call(cmd, ...))",
      "end",
      "local function __raft_pcall(cmd, ...)",
      "  local name = __raft_name(cmd, (...))",
      `  if __raft_random[name] then return __raft_api().error_reply(${
        JSON.stringify(randomCommandError)
      }) end`,
      "  return __raft_fix(name, __raft_api().pcall(cmd, ...))",
      "end",
      ...sandboxGlobals,
      "local __raft_filled = false",
      // Copy the API at run time: while a function library loads, most of it is off limits.
      "local function __raft_fill()",
      "  if __raft_filled then return end",
      "  __raft_filled = true",
      "  local api = __raft_api()",
      ...redisApiFields.map((f) => `  redis.${f} = api.${f}`),
      "  redis.call = __raft_call",
      "  redis.pcall = __raft_pcall",
      "  __raft_view()",
      "end",
      // A library's function starts with the whole step budget at each call.
      "local function __raft_start()",
      "  __raft_fill()",
      "  __raft_begin()",
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
        : " __raft_fill(); __raft_begin(); ";
      return head + this.prologue + start + this.bounded(rest);
    }
    return this.prologue + " __raft_fill(); __raft_begin(); " + this.bounded(body);
  }

  private bounded(body: string): string {
    return boundSteps(body, this.stepsMaxCount);
  }
}
