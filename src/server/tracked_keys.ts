/**
 * @module
 * The keys a read-only command reads, for CLIENT TRACKING: the command table's positions, and
 * for the commands whose keys move, their own rule (as Redis's getkeys procedures).
 */
import { type CommandInfo, commandKeys } from "../redis/command_table.ts";
import { lowerAscii } from "../resp/bytes.ts";

const decoder = new TextDecoder();

export function trackedKeys(info: CommandInfo, args: readonly Uint8Array[]): Uint8Array[] {
  const fixed = commandKeys(info, args);
  if (fixed !== null) return fixed;
  const counted = (at: number) => {
    const count = args[at] ? Number(decoder.decode(args[at])) : 0;
    return Number.isSafeInteger(count) && count > 0 ? args.slice(at + 1, at + 1 + count) : [];
  };
  switch (info.name) {
    case "eval_ro":
    case "evalsha_ro":
    case "fcall_ro":
      return counted(2);
    case "zinter":
    case "zunion":
    case "zdiff":
    case "zintercard":
    case "sintercard":
      return counted(1);
    case "sort_ro":
      return args.length > 1 ? [args[1]] : [];
    case "xread": {
      const at = args.findIndex((arg, i) => i > 0 && lowerAscii(arg) === "streams");
      if (at < 0) return [];
      const rest = args.slice(at + 1);
      return rest.slice(0, Math.floor(rest.length / 2));
    }
  }
  return [];
}
