/**
 * Runs every transcript in `scenarios/` (see `scenario_runner.ts` for the format).
 * `REWRITE=1 deno test -A tests/unit/raft/scenarios_test.ts` rewrites the expected
 * output blocks from the actual output; review the diff against the Raft paper before
 * committing it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runScenario } from "./scenario_runner.ts";

const dir = new URL("./scenarios/", import.meta.url);
const rewrite = Deno.env.get("REWRITE") === "1";
const files = [...Deno.readDirSync(dir)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".txt"))
  .map((entry) => entry.name)
  .sort();

Deno.test("scenario transcripts are present", () => {
  assert.ok(files.length >= 9, `${files.length} transcripts`);
});

for (const name of files) {
  Deno.test(`scenario ${name}`, () => {
    const url = new URL(name, dir);
    const result = runScenario(Deno.readTextFileSync(url));
    if (rewrite) {
      if (result.rewritten !== result.text) Deno.writeTextFileSync(url, result.rewritten);
      return;
    }
    assert.equal(
      result.mismatches.length,
      0,
      `${name}: ${result.mismatches.length} mismatching cases (REWRITE=1 to update)\n\n${
        result.mismatches.join("\n\n")
      }`,
    );
  });
}
