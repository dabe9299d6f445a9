/**
 * @module
 * One node per data directory: a node holds an exclusive lock on `<dir>/node.lock` while it
 * runs (flock: the kernel drops it when the process ends, however it ends). A second node
 * started on the same directory by mistake would otherwise take the running node's redis child
 * for one left by a crash and stop it, and write the same log.
 */

export const lockFileName = "node.lock";
/** How long a start waits for the lock before it takes the directory to be in use. */
export const dirLockWaitMs = 1000;

/** Locks `dir` for this process; throws, naming the holder's pid, if another node holds it. */
export async function lockDataDir(dir: string): Promise<Deno.FsFile> {
  const path = `${dir}/${lockFileName}`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = await Promise.race([
    file.lock(true).then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), dirLockWaitMs)),
  ]);
  clearTimeout(timer);
  if (!locked) {
    // The lock request stays pending until this process exits, which it is about to.
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    throw new Error(
      `data directory ${dir} is in use by another node${holder ? ` (pid ${holder})` : ""}`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return file;
}
