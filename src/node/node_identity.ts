/**
 * @module
 * Fresh identities for `RAFT.CLUSTER INIT` and joins: RedisRaft's 32-hex-character dbid and
 * random positive 31-bit node ids. Persisting them is the storage layer's `identity_store.ts`.
 */
export { loadIdentity, saveIdentity } from "../storage/identity_store.ts";
export type { NodeIdentity } from "../storage/types.ts";

/** 32 random hex characters, as RedisRaft's dbid. */
export function randomDbid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random positive 31-bit node id not in `used`. */
export function randomNodeId(used: ReadonlySet<number> = new Set()): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint32Array(1))[0] & 0x7fffffff;
    if (id !== 0 && !used.has(id)) return id;
  }
}
