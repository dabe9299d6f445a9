/**
 * @module
 * Command-line flags of a node. Every key of the config schema is a flag in kebab case
 * (`electionTimeoutMs` → `--election-timeout-ms`); yes/no settings are plain switches with a
 * `--no-` form. Errors name the flag and the reason in one line.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { type Config, configSchema, parseConfig } from "./config_schema.ts";

export const version = "0.1.0";

const switchKeys = new Set(["followerProxy", "logFsync"]);

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** Raised for a bad command line; `message` is the one line to print. */
export class FlagError extends Error {}

export type CliResult =
  | { kind: "run"; config: Config }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

export function helpText(): string {
  const lines = [
    "usage: redisraft --addr host:port [--dir path] [flags]",
    "",
    "A strongly consistent Redis: Raft-replicated writes applied to a managed redis-server.",
    "",
    "flags (defaults in brackets):",
  ];
  const defaults = configSchema.partial().parse({});
  const shape = configSchema.shape as Record<string, z.ZodType>;
  for (const key of Object.keys(shape)) {
    const value = (defaults as Record<string, unknown>)[key];
    const shown = value === undefined ? "" : ` [${value}]`;
    lines.push(`  --${kebab(key)}${switchKeys.has(key) ? "" : " <value>"}${shown}`);
  }
  lines.push("  --help, --version");
  return lines.join("\n");
}

/** Parse argv into a validated config, or a help/version request. Throws FlagError. */
export function parseCli(argv: string[]): CliResult {
  const keys = Object.keys(configSchema.shape);
  const options: Record<string, { type: "string" | "boolean" }> = {
    help: { type: "boolean" },
    version: { type: "boolean" },
  };
  for (const key of keys) {
    options[kebab(key)] = { type: switchKeys.has(key) ? "boolean" : "string" };
    if (switchKeys.has(key)) options["no-" + kebab(key)] = { type: "boolean" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new FlagError((error as Error).message.split("\n")[0]);
  }
  if (values.help) return { kind: "help", text: helpText() };
  if (values.version) return { kind: "version", text: `redisraft ${version}` };
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const flag = kebab(key);
    if (values[flag] !== undefined) raw[key] = values[flag];
    if (values["no-" + flag]) raw[key] = false;
  }
  try {
    return { kind: "run", config: parseConfig(raw) };
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issue = error.issues[0];
      const key = String(issue.path[0] ?? "");
      const what = issue.code === "invalid_type" && raw[key] === undefined
        ? "is required"
        : `${issue.message} (got ${JSON.stringify(raw[key])})`;
      throw new FlagError(`--${kebab(key)} ${what}`);
    }
    throw error;
  }
}
