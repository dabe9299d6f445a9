/**
 * @module
 * Snapshot pressure is not a fault in time but a node setting: a tiny log size limit
 * (`--log-max-bytes`, 32000 bytes) so the log is compacted all the time and restarted or new nodes
 * catch up by snapshot. Skipped cleanly if the node does not accept the flag.
 */

export const snapshotLogMaxBytes = 32_000;

const mainPath = new URL("../../../src/main.ts", import.meta.url).pathname;

/** The node arguments for snapshot pressure, or null if this build rejects them. */
export async function snapshotNodeArgs(
  logMaxBytes = snapshotLogMaxBytes,
): Promise<string[] | null> {
  const args = ["--log-max-bytes", String(logMaxBytes)];
  const probe = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, ...args, "--help"],
    stdout: "null",
    stderr: "null",
  }).output();
  return probe.success ? args : null;
}
