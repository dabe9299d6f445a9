/**
 * @module
 * Random command sequences for the differential fuzz test: two keys per data type (now and then
 * one of another type, for WRONGTYPE), small values and counts, transactions of random
 * commands, scripts, and blocking pops with short timeouts. Only commands whose replies do not
 * depend on a hash table's order or on when they ran (no SMEMBERS, SPOP, TTL, `*` ids).
 */

/** Keys by type (s strings, l lists, h hashes, t sets, z sorted sets, x streams). */
const familyKeys = {
  s: ["s0", "s1"],
  l: ["l0", "l1"],
  h: ["h0", "h1"],
  t: ["t0", "t1"],
  z: ["z0", "z1"],
  x: ["x0"],
  any: ["s0", "l0", "h0", "t0", "z0", "x0", "none"],
};
type Family = keyof typeof familyKeys;
/** How often a command gets a key of any type instead of its own (WRONGTYPE and friends). */
const otherTypeShare = 0.08;
const values = ["0", "1", "-1", "a", "bb", "3.5", "", "10"];
const counts = ["-2", "-1", "0", "1", "2", "5"];
const positive = ["1", "2", "3"];

type Pick = <T>(items: readonly T[]) => T;
type Key = (family: Family) => string;

const templates: ((p: Pick, k: Key) => string[])[] = [
  (p, k) => ["SET", k("s"), p(values)],
  (p, k) => ["SET", k("s"), p(values), p(["NX", "XX"]), "GET"],
  (_p, k) => ["GET", k("s")],
  (_p, k) => ["GETDEL", k("s")],
  (p, k) => ["APPEND", k("s"), p(values)],
  (_p, k) => ["INCR", k("s")],
  (p, k) => ["DECRBY", k("s"), p(counts)],
  (p, k) => ["INCRBYFLOAT", k("s"), p(values)],
  (_p, k) => ["STRLEN", k("s")],
  (p, k) => ["GETRANGE", k("s"), p(counts), p(counts)],
  (p, k) => ["SETRANGE", k("s"), p(["0", "1", "3"]), p(values)],
  (p, k) => ["MSET", k("s"), p(values), k("s"), p(values)],
  (_p, k) => ["MGET", k("s"), k("s")],
  (_p, k) => ["DEL", k("any"), k("any")],
  (_p, k) => ["EXISTS", k("any"), k("any")],
  (_p, k) => ["TYPE", k("any")],
  (_p, k) => ["RENAME", k("any"), k("any")],
  (_p, k) => ["COPY", k("any"), k("any"), "REPLACE"],
  (p, k) => ["EXPIREAT", k("any"), "4102444800", p(["NX", "XX", "GT", "LT"])],
  (_p, k) => ["EXPIRETIME", k("any")],
  (_p, k) => ["PERSIST", k("any")],
  (_p, k) => ["OBJECT", "ENCODING", k("any")],
  (p, k) => ["LPUSH", k("l"), p(values), p(values)],
  (p, k) => ["RPUSH", k("l"), p(values)],
  (_p, k) => ["LPOP", k("l")],
  (p, k) => ["RPOP", k("l"), p(positive)],
  (p, k) => ["LRANGE", k("l"), p(counts), p(counts)],
  (_p, k) => ["LLEN", k("l")],
  (p, k) => ["LINDEX", k("l"), p(counts)],
  (p, k) => ["LSET", k("l"), p(counts), p(values)],
  (p, k) => ["LREM", k("l"), p(counts), p(values)],
  (p, k) => ["LTRIM", k("l"), p(counts), p(counts)],
  (p, k) => ["LINSERT", k("l"), p(["BEFORE", "AFTER"]), p(values), p(values)],
  (p, k) => ["LPOS", k("l"), p(values)],
  (p, k) => ["LMOVE", k("l"), k("l"), p(["LEFT", "RIGHT"]), p(["LEFT", "RIGHT"])],
  (_p, k) => ["RPOPLPUSH", k("l"), k("l")],
  (p, k) => ["LMPOP", "2", k("l"), k("l"), p(["LEFT", "RIGHT"]), "COUNT", p(positive)],
  (_p, k) => ["BLPOP", k("l"), k("l"), "0.01"],
  (_p, k) => ["BRPOP", k("l"), "0.01"],
  (p, k) => ["BLMOVE", k("l"), k("l"), p(["LEFT", "RIGHT"]), p(["LEFT", "RIGHT"]), "0.01"],
  (_p, k) => ["BRPOPLPUSH", k("l"), k("l"), "0.01"],
  (p, k) => ["BLMPOP", "0.01", "2", k("l"), k("l"), p(["LEFT", "RIGHT"]), "COUNT", p(positive)],
  (p, k) => ["HSET", k("h"), p(["f", "g"]), p(values)],
  (p, k) => ["HGET", k("h"), p(["f", "g"])],
  (p, k) => ["HDEL", k("h"), p(["f", "g"])],
  (p, k) => ["HINCRBY", k("h"), p(["f", "g"]), p(counts)],
  (_p, k) => ["HGETALL", k("h")],
  (_p, k) => ["HLEN", k("h")],
  (p, k) => ["SADD", k("t"), p(values), p(values)],
  (p, k) => ["SREM", k("t"), p(values)],
  (_p, k) => ["SCARD", k("t")],
  (p, k) => ["SISMEMBER", k("t"), p(values)],
  (p, k) => ["SMOVE", k("t"), k("t"), p(values)],
  (_p, k) => ["SINTERCARD", "2", k("t"), k("t")],
  (_p, k) => ["SUNIONSTORE", k("t"), k("t"), k("t")],
  (_p, k) => ["SDIFFSTORE", k("t"), k("t"), k("t")],
  (p, k) => ["ZADD", k("z"), p(counts), p(values)],
  (p, k) => ["ZADD", k("z"), p(["NX", "XX", "GT", "LT"]), "CH", p(counts), p(values)],
  (p, k) => ["ZINCRBY", k("z"), p(counts), p(values)],
  (_p, k) => ["ZRANGE", k("z"), "0", "-1", "WITHSCORES"],
  (p, k) => ["ZREM", k("z"), p(values)],
  (_p, k) => ["ZCARD", k("z")],
  (p, k) => ["ZSCORE", k("z"), p(values)],
  (p, k) => ["ZPOPMIN", k("z"), p(positive)],
  (p, k) => ["ZMPOP", "2", k("z"), k("z"), p(["MIN", "MAX"])],
  (_p, k) => ["BZPOPMAX", k("z"), k("z"), "0.01"],
  (p, k) => ["BZMPOP", "0.01", "2", k("z"), k("z"), p(["MIN", "MAX"]), "COUNT", p(positive)],
  (_p, k) => ["ZUNIONSTORE", k("z"), "2", k("z"), k("z")],
  (_p, k) => ["ZRANGESTORE", k("z"), k("z"), "0", "-1"],
  (p, k) => ["XADD", k("x"), `${p(positive)}-${p(positive)}`, "f", p(values)],
  (_p, k) => ["XLEN", k("x")],
  (_p, k) => ["XRANGE", k("x"), "-", "+"],
  (p, k) => ["XDEL", k("x"), `${p(positive)}-${p(positive)}`],
  (p, k) => ["XTRIM", k("x"), "MAXLEN", p(positive)],
  (_p, k) => ["EVAL", "return redis.call('INCR', KEYS[1])", "1", k("any")],
  (_p, k) => ["EVAL", "return redis.pcall('LPOP', KEYS[1])", "1", k("any")],
  (p, k) => [
    "EVAL",
    "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
    "1",
    k("s"),
    p(values),
  ],
];

/** `count` random steps; a step is one command or a MULTI ... EXEC of one to three. */
export function fuzzSteps(random: () => number, count: number): string[][][] {
  const pick: Pick = (items) => items[Math.floor(random() * items.length)];
  const key: Key = (family) => pick(familyKeys[random() < otherTypeShare ? "any" : family]);
  const command = () => pick(templates)(pick, key);
  const steps: string[][][] = [];
  for (let i = 0; i < count; i++) {
    if (random() < 0.1) {
      const inner = Array.from({ length: 1 + Math.floor(random() * 3) }, command);
      steps.push([["MULTI"], ...inner, ["EXEC"]]);
    } else steps.push([command()]);
  }
  return steps;
}
