/**
 * @module
 * Process-wide cleanup for the harness: registered actions run once, in reverse order, on normal
 * exit paths and on SIGINT/SIGTERM (then the process exits 130), so no node, redis child or
 * namespace outlives a run.
 */

type Action = () => Promise<void>;

const actions: Action[] = [];
let listening = false;
let running: Promise<void> | null = null;

function onSignal(): void {
  console.error("chaos: interrupted, cleaning up");
  runCleanups().finally(() => Deno.exit(130));
}

export function addCleanup(action: Action): void {
  actions.push(action);
  if (!listening) {
    listening = true;
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
}

export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (actions.length > 0) {
      const action = actions.pop()!;
      await action().catch((error) => console.error(`chaos: cleanup failed: ${error}`));
    }
    if (listening) {
      listening = false;
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
  })().finally(() => running = null);
  return running;
}
