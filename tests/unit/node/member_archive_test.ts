/** Unit, on real files: a removed member's Raft files move under removed-<id>-<ms>/. */
import assert from "node:assert/strict";
import { archiveMemberFiles } from "../../../src/node/member_archive.ts";
import { exists } from "../../../src/storage/atomic_file.ts";

Deno.test("archiving moves identity, hard state, log and snapshots, and leaves the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "member-archive-" });
  try {
    await Deno.writeTextFile(`${dir}/identity.json`, '{"nodeId":7}');
    await Deno.writeTextFile(`${dir}/hard_state.json`, '{"term":3}');
    await Deno.mkdir(`${dir}/log`);
    await Deno.writeTextFile(`${dir}/log/00000001.seg`, "records");
    await Deno.mkdir(`${dir}/redis`); // the child's directory stays
    const archive = await archiveMemberFiles(dir, 7, 1234);
    assert.equal(archive, `${dir}/removed-7-1234`);
    for (const name of ["identity.json", "hard_state.json", "log"]) {
      assert.equal(await exists(`${dir}/${name}`), false, name);
    }
    assert.equal(await Deno.readTextFile(`${archive}/identity.json`), '{"nodeId":7}');
    assert.equal(await Deno.readTextFile(`${archive}/hard_state.json`), '{"term":3}');
    assert.equal(await Deno.readTextFile(`${archive}/log/00000001.seg`), "records");
    // No snapshot was ever taken: nothing to move, and no error.
    assert.equal(await exists(`${archive}/snapshot`), false);
    assert.equal(await exists(`${dir}/redis`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
