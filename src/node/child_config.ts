/**
 * @module
 * CONFIG SET of the child parameters every node may share: keyspace notifications, the
 * encodings' size thresholds, the slow log and latency monitor. Such a CONFIG SET is a log entry
 * (applied to every child in order, like a write), and the values in force are part of each
 * snapshot, so a node restarted or installed from a snapshot configures its new child the same
 * way. Parameters that could make nodes decide differently (maxmemory, ...) or that the node owns
 * (dir, save, appendonly, ...) stay refused.
 */
import { lowerAscii } from "../resp/bytes.ts";

/** The child parameters CONFIG SET replicates (Redis 7.0 names and their aliases). */
export const replicatedChildParams: ReadonlySet<string> = new Set([
  "notify-keyspace-events",
  "hash-max-listpack-entries",
  "hash-max-listpack-value",
  "hash-max-ziplist-entries",
  "hash-max-ziplist-value",
  "set-max-intset-entries",
  "zset-max-listpack-entries",
  "zset-max-listpack-value",
  "zset-max-ziplist-entries",
  "zset-max-ziplist-value",
  "list-max-listpack-size",
  "list-max-ziplist-size",
  "list-compress-depth",
  "stream-node-max-bytes",
  "stream-node-max-entries",
  "hll-sparse-max-bytes",
  "slowlog-log-slower-than",
  "slowlog-max-len",
  "latency-monitor-threshold",
]); // deno-fmt-ignore

/** True for `CONFIG SET p v [p v ...]` whose every parameter is replicated. */
export function isReplicatedConfigSet(args: readonly Uint8Array[]): boolean {
  if (args.length < 4 || args.length % 2 !== 0 || lowerAscii(args[1]) !== "set") return false;
  for (let i = 2; i < args.length; i += 2) {
    if (!replicatedChildParams.has(lowerAscii(args[i]))) return false;
  }
  return true;
}

const decoder = new TextDecoder();

/** The replicated parameters set so far, by lower-case name. */
export class ChildConfig {
  private readonly values = new Map<string, string>();

  get size(): number {
    return this.values.size;
  }

  /** Record a CONFIG SET the child accepted: `args` is the whole command. */
  accepted(args: readonly Uint8Array[]): void {
    for (let i = 2; i + 1 < args.length; i += 2) {
      this.values.set(lowerAscii(args[i]), decoder.decode(args[i + 1]));
    }
  }

  /** Start arguments (`--name value`) that give a new child these values before it loads. */
  startArgs(): string[] {
    return [...this.values].flatMap(([name, value]) => [`--${name}`, value]);
  }

  /** For snapshots. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.values);
  }

  /** The start arguments for a child loading a snapshot whose extra state holds `saved`. */
  static startArgsOf(saved: unknown): string[] {
    const config = new ChildConfig();
    config.restore(saved);
    return config.startArgs();
  }

  /** The values as of a snapshot (only replicated parameters are taken). */
  restore(saved: unknown): void {
    this.values.clear();
    if (typeof saved !== "object" || saved === null) return;
    for (const [name, value] of Object.entries(saved)) {
      if (replicatedChildParams.has(name) && typeof value === "string") {
        this.values.set(name, value);
      }
    }
  }
}
