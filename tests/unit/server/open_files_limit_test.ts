import assert from "node:assert/strict";
import {
  clientsUnderLimit,
  parseOpenFilesLimit,
  readOpenFilesLimit,
} from "../../../src/server/open_files_limit.ts";
import { ClientRegistry } from "../../../src/server/client_registry.ts";
import type { ClientSession } from "../../../src/server/client_session.ts";

Deno.test("the open-files line of /proc/<pid>/limits, unlimited included", () => {
  const text = [
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max processes             127431               127431               processes ",
    "Max open files            1024                 524288               files     ",
  ].join("\n");
  assert.deepEqual(parseOpenFilesLimit(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(
    parseOpenFilesLimit(
      "Max open files            unlimited            unlimited            files",
    ),
    { soft: Infinity, hard: Infinity },
  );
  assert.equal(parseOpenFilesLimit("Max processes 1 1 processes"), null);
  const own = readOpenFilesLimit();
  assert.ok(own !== null && own.soft > 0 && own.soft <= own.hard, JSON.stringify(own));
});

Deno.test("clients fit beside the reserve, never more than asked and at least one", () => {
  assert.equal(clientsUnderLimit(10_000, 1024, 64), 960);
  assert.equal(clientsUnderLimit(100, 1024, 64), 100);
  assert.equal(clientsUnderLimit(10_000, Infinity, 64), 10_000);
  assert.equal(clientsUnderLimit(10_000, 50, 64), 1);
});

Deno.test("connections and subscriptions share the descriptors the limit leaves the clients", () => {
  const registry = new ClientRegistry(3);
  const session = (id: number) => ({ id }) as unknown as ClientSession;
  registry.add(session(1));
  registry.subscribedCount++;
  assert.ok(registry.hasDescriptorFor());
  registry.add(session(2));
  assert.ok(!registry.hasDescriptorFor(), "two connections and a subscription");
  registry.subscribedCount--;
  assert.ok(registry.hasDescriptorFor());
  assert.ok(new ClientRegistry().hasDescriptorFor(), "no bound by default");
});
