/**
 * @module
 * Sets the rate of a node's drifting clock (tests/helpers/clock_rate.c, preloaded into the
 * node, re-reads the file as it runs). The file is replaced whole (a temp file renamed over
 * it), so the node never reads half a number.
 */
export async function setClockRate(rateFile: string, rate: number): Promise<void> {
  if (!(rate > 0 && rate <= 100)) throw new Error(`clock rate ${rate} out of (0, 100]`);
  await Deno.writeTextFile(`${rateFile}.tmp`, String(rate));
  await Deno.rename(`${rateFile}.tmp`, rateFile);
}
