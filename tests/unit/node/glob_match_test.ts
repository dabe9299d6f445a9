/** Unit: Redis's glob patterns, and no pattern takes long. */
import assert from "node:assert/strict";
import { globMatch } from "../../../src/node/glob_match.ts";

Deno.test("globs match as Redis's stringmatchlen does", () => {
  const cases: [string, string, boolean][] = [
    ["*", "", true],
    ["*", "raft.loglevel", true],
    ["raft.*", "raft.loglevel", true],
    ["raft.*", "maxmemory", false],
    ["*-timeout", "raft.election-timeout", true],
    ["*-timeout", "raft.election-timeouts", false],
    ["raft.?d", "raft.id", true],
    ["raft.?d", "raft.idd", false],
    ["raft.[ai]d*", "raft.addr", true],
    ["raft.[ai]d*", "raft.id", true],
    ["raft.[^ai]d*", "raft.id", false],
    ["raft.[a-c]*", "raft.append-req-max-count", true],
    ["raft.[c-a]*", "raft.append-req-max-count", true],
    ["raft.[d-z]*", "raft.append-req-max-count", false],
    ["raft.\\*", "raft.*", true],
    ["raft.\\*", "raft.x", false],
    ["raft.[\\]]", "raft.]", true],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXbYcZ", false],
    ["a*b*c*", "abcabc", true],
    ["*a", "baaa", true],
    ["", "", true],
    ["", "x", false],
    ["x", "", false],
    ["[abc", "b", true],
    ["\\", "\\", true],
  ];
  for (const [pattern, text, expected] of cases) {
    assert.equal(globMatch(pattern, text), expected, `${pattern} ~ ${text}`);
  }
  assert.equal(globMatch("RAFT.LogLevel", "raft.loglevel", true), true);
  assert.equal(globMatch("RAFT.LogLevel", "raft.loglevel"), false);
  assert.equal(globMatch("RAFT.[A-C]*", "raft.append-req-max-count", true), true);
});

Deno.test("many stars against a text they do not match take linear time, not exponential", () => {
  // As a regular expression (`.*` for each star) this pattern took minutes.
  const startedMs = performance.now();
  for (const stars of [25, 200, 2000]) {
    assert.equal(globMatch(`raft.${"*".repeat(stars)}z`, "raft.append-req-max-count"), false);
    assert.equal(globMatch(`${"*a".repeat(stars)}z`, "a".repeat(5000)), false);
  }
  const tookMs = performance.now() - startedMs;
  assert.ok(tookMs < 5000, `${tookMs.toFixed(0)} ms`);
});
