/**
 * @module
 * The command lines of the project's scripts and tools (`make cluster`, the benchmarks, the
 * simulation): flags as node:util's `parseArgs` reads them, `--help` printing the usage, and an
 * unknown flag, a missing value or a number out of range answered with the usage on stderr and
 * exit code 2 (or the tool's own, as the chaos run's 3) instead of a stack trace.
 */
import { parseArgs } from "node:util";

/** One flag, as `parseArgs` takes it. */
interface FlagSpec {
  type: "string" | "boolean";
  default?: string | boolean;
}

/** What the flags read as: a flag with a default is always there. */
export type FlagValues<T extends Record<string, FlagSpec>> = {
  [K in keyof T]:
    | (T[K]["type"] extends "boolean" ? boolean : string)
    | (T[K] extends { default: string | boolean } ? never : undefined);
};

/** Exit code of a command line that could not be read, unless the tool has its own. */
export const usageExitCode = 2;

/** Prints why and the usage, and exits with `exitCode`. */
export function exitWithUsage(usage: string, why: string, exitCode = usageExitCode): never {
  console.error(`${why}\n${usage}`);
  Deno.exit(exitCode);
}

/**
 * Reads `Deno.args` against `options` (plus `--help`, which prints `usage` and exits 0).
 * `integer` reads a string flag as a whole number within [min, max], exiting with the usage
 * otherwise; `exitCode` is what a command line that cannot be read exits with.
 */
export function parseCommandLine<const T extends Record<string, FlagSpec>>(
  usage: string,
  options: T,
  exitCode = usageExitCode,
) {
  let values: FlagValues<T> & { help?: boolean };
  try {
    const flags: Record<string, FlagSpec> = { ...options, help: { type: "boolean" } };
    values = parseArgs({ args: Deno.args, options: flags, strict: true, allowPositionals: false })
      .values as FlagValues<T> & { help?: boolean };
  } catch (error) {
    exitWithUsage(usage, (error as Error).message, exitCode);
  }
  if (values.help) {
    console.log(usage);
    Deno.exit(0);
  }
  const integer = (name: keyof T & string, min: number, max: number): number => {
    const text: unknown = values[name];
    const value = Number(text);
    if (typeof text !== "string" || text.trim() === "" || !Number.isInteger(value)) {
      exitWithUsage(usage, `--${name} must be a whole number, not '${text}'`, exitCode);
    }
    if (value < min || value > max) {
      exitWithUsage(usage, `--${name} must be between ${min} and ${max}, not ${value}`, exitCode);
    }
    return value;
  };
  return { values, integer };
}
