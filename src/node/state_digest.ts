/**
 * @module
 * `RAFT.DEBUG DIGEST`'s hash of the child's data. Redis's `DEBUG DIGEST` hashes a stream's
 * entries only, not its consumer groups, pending entries, consumers or last ids. So when streams
 * exist, their `XINFO STREAM key FULL` (less the radix tree's shape, which is not data) is hashed
 * too, in the same MULTI, and folded into the digest. With no streams the digest is Redis's own.
 */
import { encodeCommand } from "../resp/mod.ts";
import { concatBytes } from "../resp/bytes.ts";
import { sha1Hex } from "./script_registry.ts";

/** Waits for the apply loop to go idle before a digest gives up (entries keep arriving). */
export const digestIdleAttempts = 100;

/** Returns "" with no streams, else the SHA1 of every stream's state, keys in order. */
const streamStateScript = `
local keys = {}
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'TYPE', 'stream', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do keys[#keys + 1] = key end
until cursor == '0'
if #keys == 0 then return '' end
table.sort(keys)
local parts = {}
for _, key in ipairs(keys) do
  local info = redis.call('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0)
  local kept = {}
  for i = 1, #info, 2 do
    local name = info[i]
    if name ~= 'radix-tree-keys' and name ~= 'radix-tree-nodes' and name ~= 'entries' then
      kept[#kept + 1] = name
      kept[#kept + 1] = info[i + 1]
    end
  end
  parts[#parts + 1] = key
  parts[#parts + 1] = cjson.encode(kept)
end
return redis.sha1hex(table.concat(parts, '\\n'))
`;

/** MULTI, DEBUG DIGEST, the stream script, EXEC: one atomic look at the child. */
export const stateDigestCommands: Uint8Array = concatBytes([
  encodeCommand(["MULTI"]),
  encodeCommand(["DEBUG", "DIGEST"]),
  encodeCommand(["EVAL", streamStateScript, "0"]),
  encodeCommand(["EXEC"]),
]);

/** Replies the child sends for `stateDigestCommands`: +OK, two +QUEUED, then EXEC's array. */
export const stateDigestReplyCount = 4;

/** The digest from EXEC's decoded reply: Redis's, or Redis's and the streams' together. */
export function stateDigestOf(execReply: unknown): string {
  if (!Array.isArray(execReply) || execReply.length !== 2) {
    throw new Error(`unexpected digest reply from the child: ${String(execReply)}`);
  }
  const [dataDigest, streamDigest] = execReply.map(String);
  return streamDigest === "" ? dataDigest : sha1Hex(`${dataDigest}:${streamDigest}`);
}
