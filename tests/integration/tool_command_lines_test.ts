/**
 * @module
 * The project's scripts and tools (`make cluster`'s script, the benchmarks, the simulation) read
 * their command lines alike: `--help` prints the usage and exits 0 without starting anything,
 * and an unknown flag or a bad number gets the reason and the usage on stderr and exit code 2
 * (the chaos run's 3: its 0-2 are verdicts), not a stack trace and not a run with NaN.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

/** Each tool as its documentation runs it, with a flag it takes as a whole number. */
const tools = [
  { path: "scripts/cluster.ts", permissions: ["-A"], numberFlag: "--nodes" },
  { path: "tests/bench/bench_main.ts", permissions: ["-A"], numberFlag: "--repeat" },
  { path: "tests/bench/floor_bench.ts", permissions: ["-A"], numberFlag: "--requests" },
  { path: "tests/bench/snapshot_bench.ts", permissions: ["-A"], numberFlag: "--keys" },
  { path: "tests/bench/raft_bench.ts", permissions: [], numberFlag: "--seconds" },
  { path: "tests/simulation/sim_main.ts", permissions: [], numberFlag: "--seeds" },
];

async function run(
  tool: typeof tools[number],
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...tool.permissions, tool.path, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

for (const tool of tools) {
  Deno.test(`${tool.path} --help prints its usage and exits 0`, async () => {
    const result = await run(tool, ["--help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^usage: \S+\.ts /);
    assert.equal(result.stderr, "");
  });

  Deno.test(`${tool.path} refuses an unknown flag and a bad number with its usage`, async () => {
    const unknown = await run(tool, ["--no-such-flag"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^Unknown option '--no-such-flag'\nusage: /);
    assert.doesNotMatch(unknown.stderr, /\bat file:/);

    const notNumber = await run(tool, [tool.numberFlag, "many"]);
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.stderr, new RegExp(`^${tool.numberFlag} must be a whole number`));

    const outOfRange = await run(tool, [`${tool.numberFlag}=0`]);
    assert.equal(outOfRange.code, 2);
    assert.match(outOfRange.stderr, new RegExp(`^${tool.numberFlag} must be between`));
  });
}

Deno.test("tests/chaos/chaos_main.ts answers --help, and bad arguments with its own exit code 3", async () => {
  const chaos = { path: "tests/chaos/chaos_main.ts", permissions: ["-A"], numberFlag: "--overlap" };
  const help = await run(chaos, ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: chaos_main\.ts /);
  const unknown = await run(chaos, ["--no-such-flag"]);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /^Unknown option '--no-such-flag'\nusage: /);
  const badNumber = await run(chaos, ["--overlap=0"]);
  assert.equal(badNumber.code, 3);
  assert.match(badNumber.stderr, /^bad numeric argument, --overlap or --net\nusage: /);
});
