/**
 * Snapshot metadata as stored in `snapshot.meta`: what the Raft core needs (index, term,
 * membership, size), the name and CRC-32C of the RDB file it belongs to, and an opaque
 * `extra` object for node-level state. Encoded as checksummed JSON; decoding validates
 * every field, so a damaged or foreign file is a loud {@link SnapshotCorruptionError}.
 *
 * The types are structurally compatible with the raft core's `SnapshotMeta`; storage does
 * not import the core.
 *
 * @module
 */

import { decodeChecksummedJson, encodeChecksummedJson } from "./checksummed_json.ts";

export interface SnapshotMember {
  readonly id: number;
  readonly addr: string;
  readonly voter: boolean;
}

export interface SnapshotMembership {
  readonly members: readonly SnapshotMember[];
  readonly usedNodeIds: readonly number[];
}

/** What the caller hands to `publish` / `complete`. */
export interface SnapshotMetaInput {
  /** Last log index included in the snapshot. */
  readonly index: number;
  readonly term: number;
  readonly membership: SnapshotMembership;
  /** Size of the RDB file; checked against the file itself. */
  readonly sizeBytes: number;
  /** Node-level state kept with the snapshot (JSON object, opaque to the store). */
  readonly extra?: Record<string, unknown>;
}

/** The metadata of a published snapshot, as read back from disk. */
export interface StoredSnapshotMeta extends SnapshotMetaInput {
  readonly extra: Record<string, unknown>;
  /** File name (inside the snapshot directory) of the RDB this metadata publishes. */
  readonly rdbFileName: string;
  /** CRC-32C of the whole RDB file. */
  readonly rdbCrc32c: number;
}

/** A published snapshot failed verification: never load it, never overwrite it silently. */
export class SnapshotCorruptionError extends Error {
  override readonly name = "SnapshotCorruptionError";
}

const FORMAT_VERSION = 1;
const RDB_FILE_NAME_PATTERN = /^snapshot-\d+-\d+\.rdb$/;

export function rdbFileNameFor(index: number, term: number): string {
  return `snapshot-${index}-${term}.rdb`;
}

export function isSnapshotRdbFileName(name: string): boolean {
  return RDB_FILE_NAME_PATTERN.test(name);
}

export function encodeSnapshotMeta(meta: StoredSnapshotMeta): Uint8Array {
  validate(meta, "snapshot meta to write");
  // Fixed key order: the checksum covers the serialized fields.
  return encodeChecksummedJson({
    format: FORMAT_VERSION,
    index: meta.index,
    term: meta.term,
    membership: {
      members: meta.membership.members.map(({ id, addr, voter }) => ({ id, addr, voter })),
      usedNodeIds: [...meta.membership.usedNodeIds],
    },
    sizeBytes: meta.sizeBytes,
    rdbFileName: meta.rdbFileName,
    rdbCrc32c: meta.rdbCrc32c,
    extra: meta.extra,
  });
}

export function decodeSnapshotMeta(bytes: Uint8Array, what: string): StoredSnapshotMeta {
  let fields: Record<string, unknown>;
  try {
    fields = decodeChecksummedJson(bytes, what);
  } catch (error) {
    throw new SnapshotCorruptionError((error as Error).message);
  }
  if (fields.format !== FORMAT_VERSION) {
    throw new SnapshotCorruptionError(`${what}: unknown format ${fields.format}`);
  }
  const meta = fields as unknown as StoredSnapshotMeta;
  validate(meta, what);
  return meta;
}

/** Throws {@link SnapshotCorruptionError} naming the first bad field. */
function validate(meta: StoredSnapshotMeta, what: string): void {
  const bad = firstBadField(meta);
  if (bad !== undefined) throw new SnapshotCorruptionError(`${what}: bad ${bad}`);
}

function firstBadField(meta: StoredSnapshotMeta): string | undefined {
  if (!isCount(meta.index) || meta.index < 1) return "index";
  if (!isCount(meta.term) || meta.term < 1) return "term";
  if (!isCount(meta.sizeBytes)) return "sizeBytes";
  if (!isCount(meta.rdbCrc32c) || meta.rdbCrc32c > 0xffffffff) return "rdbCrc32c";
  if (typeof meta.rdbFileName !== "string" || !isSnapshotRdbFileName(meta.rdbFileName)) {
    return "rdbFileName";
  }
  if (!isPlainObject(meta.extra)) return "extra";
  const membership = meta.membership as unknown;
  if (!isPlainObject(membership)) return "membership";
  const { members, usedNodeIds } = membership as Record<string, unknown>;
  if (!Array.isArray(members) || !members.every(isMember)) return "membership.members";
  if (!Array.isArray(usedNodeIds) || !usedNodeIds.every(isCount)) {
    return "membership.usedNodeIds";
  }
  return undefined;
}

function isMember(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const { id, addr, voter } = value as Record<string, unknown>;
  return isCount(id) && typeof addr === "string" && typeof voter === "boolean";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
