/**
 * @module
 * CLIENT LIST / CLIENT INFO replies as the tests read them: one `key=value ...` map per line.
 */
import assert from "node:assert/strict";
import type { Reply } from "./resp_client.ts";

/** One map per client line, field names to values, after checking the reply's shape. */
export function parseClients(reply: Reply): Map<string, string>[] {
  assert.equal(typeof reply, "string", `a bulk string, got ${reply}`);
  const text = reply as string;
  assert.ok(text === "" || text.endsWith("\n"), "every line ends with a newline");
  return text.split("\n").filter((line) => line !== "").map((line) =>
    new Map(
      line.split(" ").map((field) => {
        const eq = field.indexOf("=");
        return [field.slice(0, eq), field.slice(eq + 1)] as [string, string];
      }),
    )
  );
}
