/**
 * @module
 * The command table, read from the child's `COMMAND` reply at start so that command support
 * tracks the real Redis version. Each command (and each `name|subcommand`) is classified into
 * the path the node sends it down: replicated write, read, node-local, or refused.
 */

/** How the node handles a command. */
export type CommandRoute =
  | "write" // replicated through the log, applied on every node
  | "read" // answered by the leader after a read barrier
  | "local" // answered by this node without the log (PING, ECHO, TIME, ...)
  | "blocking" // BLPOP & co
  | "pubsub" // SUBSCRIBE & co
  | "refused"; // controls the child or breaks replication

export interface CommandInfo {
  name: string;
  /** Redis arity: n > 0 exactly n arguments (name included); n < 0 at least -n. */
  arity: number;
  flags: Set<string>;
  tips: Set<string>;
  route: CommandRoute;
  /** Legacy key positions: first and last key argument (negative: from the end) and step. */
  firstKey: number;
  lastKey: number;
  keyStep: number;
  /** Subcommands keyed by lower-case name, for container commands (CONFIG, SCRIPT, ...). */
  subcommands?: Map<string, CommandInfo>;
}

/** Refused whatever their flags say: they control the child or cannot be replicated safely. */
const refusedNames = new Set([
  "shutdown",
  "debug",
  "replicaof",
  "slaveof",
  "sync",
  "psync",
  "save",
  "bgsave",
  "bgrewriteaof",
  "migrate",
  "module",
  "failover",
  "wait", // answered by the node (the child has no replicas); never sent to the child
  "waitaof",
  "swapdb",
  "move",
  "config|set",
  "config|rewrite",
  "script|kill",
  // Would put the connection that applies the log in Lua debugging: each later EVAL on it runs
  // in a forked debugger that never answers, on every node, from the log, for good.
  "script|debug",
  "function|kill",
  "function|restore",
  "function|dump",
  "pfdebug",
  "pfselftest",
  "restore-asking",
  "client|pause",
  "client|unpause",

  "acl|setuser",
  "acl|deluser",
  "acl|load",
  "acl|save",
  "cluster",
  "asking",
]); // deno-fmt-ignore

/**
 * Answered locally even though they are neither reads nor writes (READONLY and READWRITE by the
 * router, refused inside MULTI like the others).
 */
const localNames = new Set([
  "ping", "echo", "time", "command", "lolwut", "role", "info", "config|get", "hello", "auth",
  "quit", "select", "client", "slowlog", "latency", "memory", "acl", "readonly", "readwrite",
  "lastsave", // this node's last snapshot, answered by the router
]); // deno-fmt-ignore

/** The commands that enter or leave pub/sub mode. */
export const subscribeNames = new Set([
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
]); // deno-fmt-ignore

/** Key-spec flags of a key the command may change. */
const keyWriteFlags = ["rw", "ow", "rm", "insert", "delete", "update"];

/**
 * True when a key spec says the command may change its key although the command is flagged
 * readonly: PFCOUNT rewrites the HyperLogLog's cached cardinality (Redis replicates it), so
 * running it on the leader's child alone would leave that key's bytes different between nodes.
 */
function mayChangeKeys(entry: unknown[]): boolean {
  if (!Array.isArray(entry[8])) return false;
  return (entry[8] as unknown[]).some((spec) => {
    if (!Array.isArray(spec)) return false;
    const at = spec.findIndex((field) => text(field) === "flags");
    const keyFlags = at >= 0 && Array.isArray(spec[at + 1]) ? spec[at + 1] as unknown[] : [];
    return keyFlags.some((flag) => keyWriteFlags.includes(text(flag).toLowerCase()));
  });
}

function classify(name: string, flags: Set<string>, changesKeys: boolean): CommandRoute {
  const parent = name.split("|")[0];
  if (refusedNames.has(name) || refusedNames.has(parent)) return "refused";
  // Their BLOCK option is refused by the router; XREADGROUP writes (the group's pending entries).
  if (name === "xread") return "read";
  if (name === "xreadgroup") return "write";
  if (flags.has("blocking")) return "blocking";
  if (subscribeNames.has(name)) return "pubsub";
  if (flags.has("write") || (flags.has("readonly") && changesKeys)) return "write";
  if (flags.has("readonly")) return "read";
  if (localNames.has(name) || localNames.has(parent)) return "local";
  if (flags.has("pubsub")) return "read"; // PUBLISH, PUBSUB CHANNELS, ...: on the leader
  if (flags.has("admin")) return "refused";
  // Neither read nor write (EVAL, SCRIPT LOAD, FUNCTION LOAD, ...): replicate, as RedisRaft does.
  return "write";
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

function parseEntry(entry: unknown): CommandInfo {
  if (!Array.isArray(entry) || entry.length < 3) throw new Error("bad COMMAND entry");
  const name = text(entry[0]).toLowerCase();
  const flags = new Set((entry[2] as unknown[]).map((f) => text(f).toLowerCase()));
  const tips = new Set(
    Array.isArray(entry[7]) ? (entry[7] as unknown[]).map((t) => text(t).toLowerCase()) : [],
  );
  const info: CommandInfo = {
    name,
    arity: Number(entry[1]),
    flags,
    tips,
    route: classify(name, flags, mayChangeKeys(entry)),
    firstKey: Number(entry[3] ?? 0),
    lastKey: Number(entry[4] ?? 0),
    keyStep: Number(entry[5] ?? 0),
  };
  if (Array.isArray(entry[9]) && entry[9].length > 0) {
    info.subcommands = new Map();
    for (const sub of entry[9] as unknown[]) {
      const subInfo = parseEntry(sub);
      info.subcommands.set(subInfo.name.slice(subInfo.name.indexOf("|") + 1), subInfo);
    }
  }
  return info;
}

export class CommandTable {
  private readonly commands = new Map<string, CommandInfo>();

  /** Build from the decoded reply of `COMMAND` (RESP2 nested arrays). */
  constructor(commandReply: unknown[]) {
    for (const entry of commandReply) {
      const info = parseEntry(entry);
      this.commands.set(info.name, info);
    }
  }

  get size(): number {
    return this.commands.size;
  }

  /** Every command and subcommand. */
  *all(): Iterable<CommandInfo> {
    for (const info of this.commands.values()) {
      yield info;
      if (info.subcommands) yield* info.subcommands.values();
    }
  }

  /** The command (or its subcommand when it has them and one is given); undefined if unknown. */
  lookup(name: string, subcommand?: string): CommandInfo | undefined {
    const info = this.commands.get(name);
    if (!info?.subcommands || subcommand === undefined) return info;
    return info.subcommands.get(subcommand.toLowerCase()) ?? info;
  }
}

/**
 * The key arguments of a command by its legacy key positions, or null when they cannot be known
 * from the table alone (movable keys: EVAL, ZUNIONSTORE, SORT ... STORE, ...).
 */
export function commandKeys(info: CommandInfo, args: readonly Uint8Array[]): Uint8Array[] | null {
  if (info.flags.has("movablekeys")) return null;
  if (info.firstKey <= 0) return [];
  const last = info.lastKey < 0 ? args.length + info.lastKey : info.lastKey;
  const keys: Uint8Array[] = [];
  for (let i = info.firstKey; i <= last && i < args.length; i += Math.max(1, info.keyStep)) {
    keys.push(args[i]);
  }
  return keys;
}

/** True when `argc` (name included) satisfies Redis arity `arity`. */
export function arityOk(arity: number, argc: number): boolean {
  return arity >= 0 ? argc === arity : argc >= -arity;
}

/** Redis's exact error for an unknown command (server.c processCommand). */
export function unknownCommandError(args: string[]): string {
  let listed = "";
  for (let i = 1; i < args.length && listed.length < 128; i++) {
    listed += `'${args[i].slice(0, 128 - listed.length)}' `;
  }
  return `ERR unknown command '${sanitize(args[0].slice(0, 128))}', with args beginning with: ${
    sanitize(listed)
  }`;
}

/** Redis's exact error for a wrong argument count. */
export function arityError(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

function sanitize(s: string): string {
  return s.replace(/[\r\n]/g, " ");
}
