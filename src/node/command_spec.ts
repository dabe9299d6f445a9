/**
 * @module
 * `RAFT.DEBUG COMMANDSPEC <cmd>`: a command's handling as RedisRaft's flag bits (its
 * `CMD_SPEC_*`), derived from how this node routes the command and from the child's `COMMAND`
 * flags and tips, so the answer tells what the node really does. Commands with none of the bits
 * (SET, ...) are unknown to the spec table, as in RedisRaft.
 */
import type { CommandInfo, CommandTable } from "../redis/command_table.ts";
import { nodeCommands } from "../server/command_router.ts";

const CommandSpecFlags = {
  readonly: 1 << 1,
  unsupported: 1 << 3,
  dontIntercept: 1 << 4,
  sortReply: 1 << 5,
  random: 1 << 6,
  scripts: 1 << 7,
  blocking: 1 << 8,
} as const;

const scriptNames = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

function flagsOf(info: CommandInfo): number {
  let flags = 0;
  if (info.flags.has("readonly")) flags |= CommandSpecFlags.readonly;
  if (info.tips.has("nondeterministic_output")) flags |= CommandSpecFlags.random;
  if (info.tips.has("nondeterministic_output_order")) flags |= CommandSpecFlags.sortReply;
  if (scriptNames.has(info.name)) flags |= CommandSpecFlags.scripts;
  switch (info.route) {
    case "refused":
      flags |= CommandSpecFlags.unsupported;
      break;
    case "local":
    case "pubsub":
      flags |= CommandSpecFlags.dontIntercept;
      break;
    case "blocking":
      flags |= CommandSpecFlags.blocking;
      break;
  }
  return flags;
}

/**
 * The flag bits of `name` (lower or upper case; `parent|sub` names a subcommand), or null when
 * the command is unknown or has no bit set.
 */
export function commandSpec(table: CommandTable, name: string): number | null {
  const lower = name.toLowerCase();
  const [parent, sub] = lower.split("|", 2);
  if (nodeCommands.has(parent)) return CommandSpecFlags.dontIntercept;
  const info = table.lookup(parent, sub);
  if (info === undefined || (sub !== undefined && info.name !== lower)) return null;
  const flags = flagsOf(info);
  return flags === 0 ? null : flags;
}
