/**
 * @module
 * The scripts known to the cluster, by the SHA1 of their original text: filled when EVAL and
 * SCRIPT LOAD entries are applied (identically on every node), so EVALSHA can be turned into a
 * replicated EVAL of the sandboxed text on whichever node leads. Bounded in count and in bytes
 * (they are held in memory and written whole into every snapshot's trailer): beyond either limit
 * new scripts are not remembered (EVALSHA of them answers NOSCRIPT), on every node alike.
 * Scripts are binary strings (one char per byte, see `keyString`): a script need not be UTF-8.
 */
import { createHash } from "node:crypto";
import { keyString } from "../resp/bytes.ts";

const utf8 = new TextEncoder();

/** SHA1 of a script held as a binary string (one char per byte), as Redis hashes its bytes. */
export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "latin1").digest("hex");
}

export class ScriptRegistry {
  private readonly scripts = new Map<string, string>();
  /** The bodies' bytes (one char per byte). */
  private bytes = 0;

  constructor(private readonly maxCount: number, private readonly maxBytes = Infinity) {}

  get size(): number {
    return this.scripts.size;
  }

  /** Remember `body` if it fits; returns its SHA1. */
  add(body: string): string {
    const sha = sha1Hex(body);
    if (
      !this.scripts.has(sha) && this.scripts.size < this.maxCount &&
      this.bytes + body.length <= this.maxBytes
    ) {
      this.scripts.set(sha, body);
      this.bytes += body.length;
    }
    return sha;
  }

  get(sha: string): string | undefined {
    return this.scripts.get(sha.toLowerCase());
  }

  clear(): void {
    this.scripts.clear();
    this.bytes = 0;
  }

  /** For snapshots. */
  toJSON(): string[] {
    return [...this.scripts.values()];
  }

  restore(bodies: readonly string[]): void {
    this.clear();
    for (const body of bodies) this.add(body);
  }
}

/**
 * The scripts a snapshot's extra state holds, as binary strings: `scriptsBinary`, or in older
 * snapshots `scripts`, Unicode text that was the UTF-8 decoding of the script's bytes.
 */
export function snapshotScripts(extra: Record<string, unknown>): string[] {
  const binary = extra.scriptsBinary as string[] | undefined;
  if (binary) return binary;
  const text = (extra.scripts as string[] | undefined) ?? [];
  return text.map((script) => keyString(utf8.encode(script)));
}
