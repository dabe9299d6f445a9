/**
 * Node identity (`{nodeId, dbid, addr}`) in `<dir>/identity.json`, written atomically
 * and checksummed like the hard state.
 *
 * @module
 */

import { join } from "node:path";
import { AtomicFile } from "./atomic_file.ts";
import { decodeChecksummedJson, encodeChecksummedJson } from "./checksummed_json.ts";
import type { NodeIdentity } from "./types.ts";

export const IDENTITY_FILE_NAME = "identity.json";

/** The saved identity, or undefined for a node that never joined a cluster. */
export async function loadIdentity(dir: string): Promise<NodeIdentity | undefined> {
  const file = new AtomicFile(join(dir, IDENTITY_FILE_NAME));
  const bytes = await file.read();
  if (bytes === undefined) return undefined;
  const fields = decodeChecksummedJson(bytes, `identity ${file.path}`);
  const { nodeId, dbid, addr } = fields;
  if (typeof nodeId !== "number" || !Number.isSafeInteger(nodeId) || nodeId <= 0) {
    throw new Error(`identity ${file.path}: bad nodeId ${nodeId}`);
  }
  if (typeof dbid !== "string") throw new Error(`identity ${file.path}: bad dbid`);
  if (typeof addr !== "string") throw new Error(`identity ${file.path}: bad addr`);
  return { nodeId, dbid, addr };
}

export async function saveIdentity(dir: string, identity: NodeIdentity): Promise<void> {
  const { nodeId, dbid, addr } = identity;
  await new AtomicFile(join(dir, IDENTITY_FILE_NAME)).write(
    encodeChecksummedJson({ nodeId, dbid, addr }),
  );
}
