/**
 * @module
 * A client's channels, patterns and shard channels as Redis keeps them, followed from the
 * commands it sends: the router knows at parse time, as Redis does, that the UNSUBSCRIBE
 * dropping the last one ends pub/sub mode, so a command pipelined behind it runs normally.
 */
import { keyString } from "../resp/bytes.ts";

export class Subscriptions {
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  private readonly shardChannels = new Set<string>();

  /** What Redis counts to decide whether the client is still in pub/sub mode. */
  get total(): number {
    return this.channels.size + this.patterns.size + this.shardChannels.size;
  }

  /** Follows one SUBSCRIBE-family command (lower-case name, arguments after it). */
  apply(name: string, args: Uint8Array[]): void {
    const add = name.endsWith("subscribe") && !name.endsWith("unsubscribe");
    const kind = add ? name.slice(0, -"subscribe".length) : name.slice(0, -"unsubscribe".length);
    const set = kind === "p" ? this.patterns : kind === "s" ? this.shardChannels : this.channels;
    if (!add && args.length === 1) return set.clear();
    for (let i = 1; i < args.length; i++) {
      if (add) set.add(keyString(args[i]));
      else set.delete(keyString(args[i]));
    }
  }
}
