/** Unit: command-line flags, validated by the config schema; bad input is one line and exit 2. */
import assert from "node:assert/strict";
import { FlagError, parseCli } from "../../../src/config/cli_flags.ts";

function flagError(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (error) {
    assert.ok(error instanceof FlagError);
    return error.message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

Deno.test("--addr is required and must be host:port with a valid port", () => {
  assert.equal(flagError([]), "--addr is required");
  assert.match(flagError(["--addr", "localhost"]), /^--addr must be host:port/);
  assert.match(flagError(["--addr", "127.0.0.1:70000"]), /^--addr port must be 1\.\.65535/);
});

Deno.test("numeric limits reject words, zero and negatives, naming the flag", () => {
  assert.match(
    flagError(["--addr", "127.0.0.1:5001", "--election-timeout-ms", "abc"]),
    /^--election-timeout-ms /,
  );
  assert.match(
    flagError(["--addr", "127.0.0.1:5001", "--proto-max-bulk-len-bytes", "0"]),
    /^--proto-max-bulk-len-bytes /,
  );
  assert.match(
    flagError(["--addr", "127.0.0.1:5001", "--read-mode", "sometimes"]),
    /^--read-mode /,
  );
});

Deno.test("a log entry and an append must fit in a peer message, and a write batch in an entry", () => {
  const addr = ["--addr", "127.0.0.1:5001"];
  assert.match(
    flagError([...addr, "--proto-max-bulk-len-bytes", "1048576"]),
    /^--entry-max-bytes must leave 65536 bytes below --proto-max-bulk-len-bytes \(1048576\)/,
  );
  assert.match(
    flagError([...addr, "--entry-max-bytes", "100000", "--write-batch-max-bytes", "200000"]),
    /^--write-batch-max-bytes must not exceed --entry-max-bytes \(100000\)/,
  );
  const fits = parseCli([
    ...addr,
    "--proto-max-bulk-len-bytes",
    "1048576",
    "--entry-max-bytes",
    String(1048576 - 65536),
    "--write-batch-max-bytes",
    "0",
    "--append-req-max-bytes",
    "524288",
  ]);
  assert.equal(fits.kind === "run" && fits.config.entryMaxBytes, 1048576 - 65536);
  // An AppendEntries of that many bytes of entries, with their headers, fits the bulk string.
  assert.match(
    flagError([...addr, "--append-req-max-bytes", String(256 * 1024 * 1024 + 1)]),
    /^--append-req-max-bytes must not exceed half of --proto-max-bulk-len-bytes \(268435456\)/,
  );
});

Deno.test("unknown flags are refused", () => {
  assert.match(flagError(["--addr", "127.0.0.1:5001", "--bogus"]), /bogus/);
});

Deno.test("defaults: dir from the port, fsync on, linearizable reads; switches have --no- forms", () => {
  const result = parseCli(["--addr", "127.0.0.1:5001", "--follower-proxy", "--no-log-fsync"]);
  assert.equal(result.kind, "run");
  if (result.kind !== "run") return;
  assert.equal(result.config.dir, `${Deno.cwd()}/data/5001`);
  assert.equal(result.config.readMode, "linearizable");
  assert.equal(result.config.followerProxy, true);
  assert.equal(result.config.logFsync, false);
  assert.equal(result.config.protoMaxBulkLenBytes, 512 * 1024 * 1024);
});

Deno.test("the node process exits 2 with one line on a bad flag and starts nothing", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../../src/main.ts", import.meta.url).pathname,
      "--addr",
      "nope",
      "--dir",
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output(); // deno-fmt-ignore
  assert.equal(out.code, 2);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(stderr.split("\n").length, 1);
  assert.match(stderr, /--addr must be host:port/);
  assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing was created");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--help and --version print and exit 0", () => {
  const help = parseCli(["--help"]);
  assert.equal(help.kind, "help");
  if (help.kind === "help") assert.match(help.text, /--election-timeout-ms/);
  assert.equal(parseCli(["--version"]).kind, "version");
});
