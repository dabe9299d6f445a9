import assert from "node:assert/strict";
import { checkConvergence } from "../../chaos/checker/convergence.ts";

Deno.test("convergence accepts equal digests at the same applied index", () => {
  const verdict = checkConvergence([
    { node: "n1", appliedIndex: 10, digest: "aa" },
    { node: "n2", appliedIndex: 10, digest: "aa" },
    { node: "n3", appliedIndex: 10, digest: "aa" },
  ]);
  assert.equal(verdict.kind, "valid");
});

Deno.test("convergence rejects different digests at the same applied index", () => {
  const verdict = checkConvergence([
    { node: "n1", appliedIndex: 10, digest: "aa" },
    { node: "n2", appliedIndex: 10, digest: "bb" },
  ]);
  assert.equal(verdict.kind, "invalid");
  assert.equal(verdict.anomalies[0].kind, "divergence");
});

Deno.test("convergence is unknown when nodes never share an applied index", () => {
  const verdict = checkConvergence([
    { node: "n1", appliedIndex: 10, digest: "aa" },
    { node: "n2", appliedIndex: 11, digest: "bb" },
  ]);
  assert.equal(verdict.kind, "unknown");
});
