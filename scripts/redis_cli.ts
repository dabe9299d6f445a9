/**
 * @module
 * Runs the real `redis-cli` against a node on 127.0.0.1, as a user would, and returns its output
 * trimmed (errors are printed as text, as redis-cli does): for `make cluster` and its tests.
 */

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}
