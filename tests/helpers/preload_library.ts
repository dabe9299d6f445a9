/**
 * @module
 * Libraries that tests preload into a node (LD_PRELOAD) to inject disk and clock faults, built from their
 * C source in tests/helpers/ (setup.sh installs the C compiler).
 */
import { fileURLToPath } from "node:url";

/** Builds tests/helpers/<name>.c into `dir`; returns the library's path. */
export async function buildPreloadLibrary(name: string, dir: string): Promise<string> {
  const source = fileURLToPath(new URL(`./${name}.c`, import.meta.url));
  const library = `${dir}/${name}.so`;
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-o", library, source, "-ldl"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`cc ${source}: ${new TextDecoder().decode(out.stderr)}`);
  return library;
}
