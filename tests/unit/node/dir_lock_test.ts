import assert from "node:assert/strict";
import { lockDataDir, lockFileName } from "../../../src/node/dir_lock.ts";

Deno.test("a data directory is locked once: a second lock fails, naming the holder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redisraft-lock-" });
  try {
    const held = await lockDataDir(dir);
    assert.equal((await Deno.readTextFile(`${dir}/${lockFileName}`)).trim(), String(Deno.pid));
    await assert.rejects(
      () => lockDataDir(dir),
      new RegExp(`data directory ${dir} is in use by another node \\(pid ${Deno.pid}\\)`),
    );
    held.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
