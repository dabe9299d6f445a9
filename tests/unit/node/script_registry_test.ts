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

Deno.test("scripts beyond the count or the bytes are not remembered; a restore counts afresh", () => {
  const registry = new ScriptRegistry(3, 20);
  const long = registry.add("return 1234567890"); // 17 bytes
  assert.equal(registry.add("return 1234567890"), long, "the same script again takes nothing");
  assert.equal(registry.get(registry.add("return 12")), undefined, "17 + 9 bytes: over 20");
  assert.equal(registry.get(registry.add("ret")), "ret", "17 + 3: at the limit");
  assert.equal(registry.size, 2);
  registry.restore(["return 1234567890"]);
  assert.equal(registry.get(registry.add("ret")), "ret", "the restored bytes alone count");

  const counted = new ScriptRegistry(2, 1000);
  counted.add("return 1");
  counted.add("return 2");
  assert.equal(counted.get(counted.add("return 3")), undefined, "a third of two");
});
