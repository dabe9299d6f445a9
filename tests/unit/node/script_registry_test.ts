/** Unit: scripts restored from snapshots, new (`scriptsBinary`) and older (`scripts`, text). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ScriptRegistry, sha1Hex, snapshotScripts } from "../../../src/node/script_registry.ts";

const script = "return 'café ☕'";
const scriptSha = createHash("sha1").update(new TextEncoder().encode(script)).digest("hex");

Deno.test("snapshotScripts: an older snapshot's text scripts keep the SHA1 of their UTF-8 bytes", () => {
  const registry = new ScriptRegistry(10);
  registry.restore(snapshotScripts({ scripts: [script] }));
  const restored = registry.get(scriptSha);
  assert.ok(restored !== undefined, "EVALSHA of the client's SHA1 finds it");
  assert.equal(sha1Hex(restored), scriptSha);
  assert.equal(restored.length, new TextEncoder().encode(script).length, "one char per byte");
});

Deno.test("snapshotScripts: binary scripts are taken as they are, and win over text ones", () => {
  const binary = "return '\xff\xfe'"; // not UTF-8
  assert.deepEqual(snapshotScripts({ scriptsBinary: [binary], scripts: ["ignored"] }), [binary]);
  assert.deepEqual(snapshotScripts({}), []);
});
