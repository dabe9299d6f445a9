/**
 * @module
 * Deterministic WATCH. An EXEC entry carries the keys its client watched and the applied index
 * at which it watched them; when the entry is applied (on every node alike) it aborts if any
 * write applied after that index touched one of the keys. The recent applied writes are kept
 * here (references to the entries' payloads, bounded in count); keys are only extracted when a
 * watched EXEC is checked. When in doubt (history evicted, keys not knowable from the command
 * table, FLUSHALL) the EXEC aborts: a spurious abort is allowed, a missed one is not.
 * Key expiry is per node and does not abort a watched EXEC (documented).
 */
import { RequestParser } from "../resp/mod.ts";
import { commandKeys, type CommandTable } from "../redis/command_table.ts";
import { keyString, lowerAscii } from "../resp/bytes.ts";

const touchesEverything = new Set(["flushall", "flushdb", "swapdb"]);

export class WatchHistory {
  private indexes: number[] = [];
  private payloads: Uint8Array[] = [];
  private head = 0;
  /** Highest index ever dropped from the history; a watch older than it cannot be checked. */
  private evictedIndex = 0;

  constructor(private readonly maxEntries: number, private readonly commands: () => CommandTable) {}

  /** An applied normal entry (its RESP command bytes). */
  record(index: number, commandBytes: Uint8Array): void {
    this.indexes.push(index);
    this.payloads.push(commandBytes);
    if (this.indexes.length - this.head > this.maxEntries) {
      this.evictedIndex = this.indexes[this.head];
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.indexes.length) {
        this.indexes = this.indexes.slice(this.head);
        this.payloads = this.payloads.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Forget everything (after installing a snapshot or a rebuild): watched EXECs then abort. */
  reset(index: number): void {
    this.indexes = [];
    this.payloads = [];
    this.head = 0;
    this.evictedIndex = index;
  }

  /** True if a write applied after `watchIndex` may have touched one of `keys`. */
  modifiedSince(watchIndex: number, keys: ReadonlySet<string>): boolean {
    if (watchIndex < this.evictedIndex) return true;
    const table = this.commands();
    for (let i = this.indexes.length - 1; i >= this.head && this.indexes[i] > watchIndex; i--) {
      const parser = new RequestParser();
      parser.push(this.payloads[i]);
      for (let args = parser.next(); args !== null; args = parser.next()) {
        const name = lowerAscii(args[0]);
        if (name === "multi" || name === "exec") continue;
        if (touchesEverything.has(name)) return true;
        const info = table.lookup(name, args.length > 1 ? lowerAscii(args[1]) : undefined);
        if (!info) continue; // unknown commands fail in the child and change nothing
        if (!info.flags.has("write") && info.route !== "write") continue;
        const touched = commandKeys(info, args);
        if (touched === null) return true;
        for (const key of touched) if (keys.has(keyString(key))) return true;
      }
    }
    return false;
  }
}
