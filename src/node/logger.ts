/**
 * @module
 * A leveled line logger with RedisRaft's level names. Lines go to stderr as
 * `<time> <level> <message>` so `make cluster` can prefix them per node.
 */
import type { LogLevel } from "../config/config_schema.ts";

const rank: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
const encoder = new TextEncoder();

/** Set once stderr failed (its reader went away): nothing is written after. */
let outputLost = false;

export class Logger {
  constructor(private level: LogLevel, private readonly prefix = "") {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  child(prefix: string): Logger {
    return new Logger(this.level, this.prefix + prefix + " ");
  }

  enabled(level: LogLevel): boolean {
    return rank[level] >= rank[this.level];
  }

  debug(message: string): void {
    this.write("debug", message);
  }
  verbose(message: string): void {
    this.write("verbose", message);
  }
  notice(message: string): void {
    this.write("notice", message);
  }
  warning(message: string): void {
    this.write("warning", message);
  }

  private write(level: LogLevel, message: string): void {
    if (!this.enabled(level) || outputLost) return;
    const line = `${new Date().toISOString()} ${level} ${this.prefix}${message}\n`;
    let bytes = encoder.encode(line);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
    } catch {
      // A broken pipe (the supervisor reading it died, journald restarted): the node serves on
      // without a log, as redis-server does, rather than die of a log line and orphan its child.
      outputLost = true;
    }
  }
}
