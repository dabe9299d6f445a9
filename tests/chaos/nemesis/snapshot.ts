/**
 * @module
 * Snapshot pressure is not a fault in time but a node setting: a tiny log size limit
 * (`--log-max-bytes`, 32000 bytes) so the log is compacted all the time and restarted or new nodes
 * catch up by snapshot, in small segment files (`--log-segment-max-bytes`, 8000 bytes) so each
 * compaction removes some. Skipped cleanly if the node does not accept the flags.
 */

export const snapshotLogMaxBytes = 32_000;
const snapshotLogSegmentMaxBytes = 8_000;

const mainPath = new URL("../../../src/main.ts", import.meta.url).pathname;

/**
 * The node arguments for snapshot pressure, or null if this build rejects the flag. Any other
 * failure of the probe (e.g. the node does not even load) throws, so a run never silently goes
 * without snapshot pressure when it was asked for.
 */
export async function snapshotNodeArgs(
  logMaxBytes = snapshotLogMaxBytes,
): Promise<string[] | null> {
  const args = [
    "--log-max-bytes",
    String(logMaxBytes),
    "--log-segment-max-bytes",
    String(snapshotLogSegmentMaxBytes),
  ];
  let stderr = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    const probe = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", mainPath, ...args, "--help"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (probe.success) return args;
    stderr = new TextDecoder().decode(probe.stderr);
    if (
      /log-(max|segment-max)-bytes/.test(stderr) && /unknown|unrecognized|unexpected/i.test(stderr)
    ) {
      return null;
    }
  }
  throw new Error(`snapshot probe: the node failed to start: ${stderr.slice(-2000)}`);
}
