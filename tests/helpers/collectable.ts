/**
 * @module
 * Test helper for what a structure keeps alive: run V8's full garbage collection (exposed at run
 * time through `node:v8` and `node:vm`) and count which weakly held objects survived it.
 */
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/** How many of `refs`' targets are still alive after full garbage collections. */
export async function survivorCount(refs: WeakRef<object>[]): Promise<number> {
  // A WeakRef holds its target until the job that created or read it ends.
  for (let round = 0; round < 2; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
  }
  return refs.filter((ref) => ref.deref() !== undefined).length;
}
