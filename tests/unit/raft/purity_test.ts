/**
 * The Raft core must stay pure: no I/O, clock, randomness, timers or async, and no
 * imports from outside `src/raft/`.
 *
 * @module
 */

import assert from "node:assert/strict";

const forbidden = [
  "Deno.",
  "Date.now",
  "performance.now",
  "Math.random",
  "setTimeout",
  "setInterval",
  "fetch(",
  "await",
  "async",
];

Deno.test("src/raft has no I/O, clock, randomness, timers, async or outside imports", () => {
  const dir = new URL("../../../src/raft/", import.meta.url);
  let files = 0;
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    files++;
    const text = Deno.readTextFileSync(new URL(entry.name, dir));
    // Comments may mention the forbidden words (to forbid them); code may not.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const word of forbidden) {
      assert.ok(!code.includes(word), `${entry.name} uses ${word}`);
    }
    for (const match of code.matchAll(/\bfrom\s+["']([^"']+)["']/g)) {
      assert.ok(match[1].startsWith("./"), `${entry.name} imports ${match[1]}`);
    }
    for (const match of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']/g)) {
      assert.ok(match[1].startsWith("./"), `${entry.name} imports ${match[1]}`);
    }
  }
  assert.ok(files >= 5, "src/raft files found");
});
