/**
 * @module
 * The power-cut model (tests/helpers/power_loss.ts) on a hand-written journal: directory changes
 * not synced after they were made are undone, newest first; synced ones stay; unsynced writes
 * become zeros.
 */
import assert from "node:assert/strict";
import { cutPower, powerLossEnv } from "../../helpers/power_loss.ts";
import { buildPreloadLibrary } from "../../helpers/preload_library.ts";

const text = (path: string) => Deno.readTextFile(path).catch(() => null);
const ino = async (path: string) => (await Deno.lstat(path)).ino!;

Deno.test("power cut: unsynced creates, renames and unlinks are undone, synced ones stay, unsynced writes zeroed", async () => {
  const root = await Deno.makeTempDir({ prefix: "redisraft-powercut-unit-" });
  try {
    const dir = `${root}/data`;
    const journal = `${root}/journal`;
    const backups = `${journal}.d`;
    await Deno.mkdir(dir);
    await Deno.mkdir(backups);
    // Before the journal: `state` (old), `gone` (to be unlinked), `kept` (renamed away durably).
    await Deno.writeTextFile(`${dir}/state`, "old");
    await Deno.writeTextFile(`${dir}/gone`, "gone");
    await Deno.writeTextFile(`${dir}/kept.tmp`, "kept");
    // What the node then did (the library would keep the hard links and note each change).
    await Deno.writeTextFile(`${dir}/state.tmp`, "new");
    await Deno.link(`${dir}/state`, `${backups}/1`);
    await Deno.rename(`${dir}/state.tmp`, `${dir}/state`);
    await Deno.link(`${dir}/gone`, `${backups}/2`);
    await Deno.remove(`${dir}/gone`);
    await Deno.rename(`${dir}/kept.tmp`, `${dir}/kept`);
    await Deno.writeTextFile(`${dir}/fresh`, "fresh");
    await Deno.writeTextFile(`${dir}/data`, "synced-unsynced");
    const lines = [
      `C ${await ino(`${dir}/state`)} ${dir}/state.tmp`,
      `W ${await ino(`${dir}/state`)} 0 3 ${dir}/state.tmp`,
      `S ${await ino(`${dir}/state`)} ${dir}/state.tmp`,
      `R 1 1 ${dir}/state.tmp\t${dir}/state`,
      `U 2 ${dir}/gone`,
      `R 3 0 ${dir}/kept.tmp\t${dir}/kept`,
      `D ${dir}`,
      // After the last directory sync: undone.
      `C ${await ino(`${dir}/fresh`)} ${dir}/fresh`,
      `W ${await ino(`${dir}/data`)} 0 6 ${dir}/data`,
      `S ${await ino(`${dir}/data`)} ${dir}/data`,
      `W ${await ino(`${dir}/data`)} 6 9 ${dir}/data`,
    ];
    await Deno.writeTextFile(journal, lines.join("\n") + "\n");
    const cut = await cutPower(journal, dir);
    assert.equal(await text(`${dir}/state`), "new", "a synced rename stays");
    assert.equal(await text(`${dir}/gone`), null, "a synced unlink stays");
    assert.equal(await text(`${dir}/kept`), "kept");
    assert.equal(await text(`${dir}/fresh`), null, "an unsynced create is undone");
    assert.equal(await text(`${dir}/data`), "synced\0\0\0\0\0\0\0\0\0", "unsynced bytes zeroed");
    assert.deepEqual(cut, { lostBytes: 9, undoneChanges: 1 });
    assert.equal(await text(journal), "", "a new journal");

    // The same changes with no directory sync after them: all undone, newest first.
    await Deno.mkdir(backups);
    await Deno.writeTextFile(`${dir}/state.tmp`, "newer");
    await Deno.link(`${dir}/state`, `${backups}/1`);
    await Deno.rename(`${dir}/state.tmp`, `${dir}/state`);
    await Deno.link(`${dir}/kept`, `${backups}/2`);
    await Deno.remove(`${dir}/kept`);
    await Deno.writeTextFile(
      journal,
      [
        `C ${await ino(`${dir}/state`)} ${dir}/state.tmp`,
        `R 1 1 ${dir}/state.tmp\t${dir}/state`,
        `U 2 ${dir}/kept`,
      ].join("\n"),
    );
    assert.deepEqual(await cutPower(journal, dir), { lostBytes: 0, undoneChanges: 3 });
    assert.equal(await text(`${dir}/state`), "new", "the replaced file is back");
    assert.equal(await text(`${dir}/state.tmp`), null, "and the new one, created unsynced, gone");
    assert.equal(await text(`${dir}/kept`), "kept", "an unsynced unlink is undone");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("power cut: a rename kept by its target directory but removed for good later brings back nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "redisraft-powercut-unit-" });
  try {
    const dir = `${root}/data`;
    const journal = `${root}/journal`;
    await Deno.mkdir(`${dir}/child`, { recursive: true });
    await Deno.mkdir(`${dir}/snapshot`);
    await Deno.writeTextFile(`${dir}/child/dump.rdb`, "rdb");
    await Deno.rename(`${dir}/child/dump.rdb`, `${dir}/snapshot/1.rdb`);
    await Deno.remove(`${dir}/snapshot/1.rdb`);
    const lines = [
      `R 1 0 ${dir}/child/dump.rdb\t${dir}/snapshot/1.rdb`,
      `D ${dir}/snapshot`,
      `U 2 ${dir}/snapshot/1.rdb`,
      `D ${dir}/snapshot`,
    ];
    await Deno.writeTextFile(journal, lines.join("\n"));
    // The rename's source directory was never synced: it is undone, with nothing left to link.
    assert.deepEqual(await cutPower(journal, dir), { lostBytes: 0, undoneChanges: 1 });
    assert.equal(await text(`${dir}/child/dump.rdb`), null);
    assert.equal(await text(`${dir}/snapshot/1.rdb`), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Runs `argv` with the power-loss library journaling what it does under `dir`. */
async function journaled(library: string, journal: string, dir: string, argv: string[]) {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { LD_PRELOAD: library, ...powerLossEnv(journal, dir, 0) },
  }).output();
  assert.ok(out.success, `${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("power cut: a process restarted without a cut keeps its own backups (the library's)", async () => {
  const root = await Deno.makeTempDir({ prefix: "redisraft-powercut-unit-" });
  try {
    const library = await buildPreloadLibrary("power_loss", root);
    const dir = `${root}/data`;
    const journal = `${root}/journal`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(`${dir}/meta`, "first");
    await Deno.writeTextFile(`${dir}/meta.tmp`, "second");
    await Deno.writeTextFile(`${dir}/other`, "x");
    await Deno.writeTextFile(`${dir}/other.tmp`, "y");
    // One process replaces a file and syncs the directory (durable), then is killed.
    await journaled(library, journal, dir, ["mv", `${dir}/other.tmp`, `${dir}/other`]);
    await journaled(library, journal, dir, ["sync", dir]);
    // Its restart replaces `meta` and is cut before it syncs the directory.
    await journaled(library, journal, dir, ["mv", `${dir}/meta.tmp`, `${dir}/meta`]);
    assert.deepEqual(await cutPower(journal, dir), { lostBytes: 0, undoneChanges: 1 });
    assert.equal(await text(`${dir}/other`), "y", "the synced rename stays");
    assert.equal(await text(`${dir}/meta`), "first", "the file the unsynced rename replaced");
    assert.equal(await text(`${dir}/meta.tmp`), "second");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
