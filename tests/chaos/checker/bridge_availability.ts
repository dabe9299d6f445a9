/**
 * @module
 * Availability through bridges: while the network is a bridge (two halves that cannot reach each
 * other, one node reaching both) some node still reaches a majority, and with PreVote and
 * CheckQuorum the cluster must go on serving. Every bridge held at least `minHoldMs` with no
 * other fault active must see an operation acknowledged in its second half (the first half leaves
 * time for an election that a fault before it may have started).
 */
import type { HistoryEvent, Operation } from "../history.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

/** A bridge held shorter than this is not judged. */
export const bridgeMinHoldMs = 2_000;

interface BridgeWindow {
  detail: string;
  startMs: number;
  endMs: number;
  /** No other fault was active at any time during the bridge. */
  alone: boolean;
}

/** The bridges in `events`, each with whether another fault overlapped it. */
export function bridgeWindows(events: readonly HistoryEvent[]): BridgeWindow[] {
  const active = new Set<string>();
  const windows: BridgeWindow[] = [];
  let open: BridgeWindow | undefined;
  const close = (timeMs: number) => {
    if (open === undefined) return;
    open.endMs = timeMs;
    windows.push(open);
    open = undefined;
  };
  for (const event of events) {
    if (event.type !== "nemesis" || event.phase === "note") continue;
    if (event.name === "heal") {
      close(event.timeMs); // the run's end heals whatever is still cut
      continue;
    }
    if (event.phase === "stop") {
      active.delete(event.name);
      if (event.name === "partition") close(event.timeMs);
      continue;
    }
    if (event.name === "partition" && event.detail.startsWith("bridge")) {
      open = {
        detail: event.detail,
        startMs: event.timeMs,
        endMs: Infinity,
        alone: active.size === 0,
      };
    } else if (open !== undefined) {
      open.alone = false;
    }
    active.add(event.name);
  }
  return windows;
}

export function checkBridgeAvailability(
  events: readonly HistoryEvent[],
  ops: readonly Operation[],
  minHoldMs = bridgeMinHoldMs,
): Verdict {
  const acknowledged = ops.filter((op) => op.status === "ok").map((op) => op.completeMs)
    .sort((a, b) => a - b);
  const countIn = (fromMs: number, toMs: number) =>
    lowerBound(acknowledged, toMs) - lowerBound(acknowledged, fromMs);
  const anomalies: Anomaly[] = [];
  const windows = bridgeWindows(events);
  let judged = 0;
  let judgedMs = 0;
  let judgedOk = 0;
  for (const window of windows) {
    const heldMs = window.endMs - window.startMs;
    if (!window.alone || !(heldMs >= minHoldMs) || !Number.isFinite(heldMs)) continue;
    judged++;
    judgedMs += heldMs;
    judgedOk += countIn(window.startMs, window.endMs);
    const secondHalfOk = countIn(window.startMs + heldMs / 2, window.endMs);
    if (secondHalfOk === 0) {
      anomalies.push({
        kind: "unavailable-during-bridge",
        message: `${window.detail}: no operation acknowledged from ${
          Math.round(window.startMs + heldMs / 2)
        } to ${Math.round(window.endMs)} ms, although a node reached every other`,
      });
    }
  }
  const spanMs = acknowledged.length > 1 ? acknowledged.at(-1)! - acknowledged[0] : 0;
  return verdictOf("bridge-availability", anomalies, {
    bridges: windows.length,
    judged,
    okPerSecDuringBridges: judgedMs > 0 ? Math.round((judgedOk * 1000) / judgedMs) : "-",
    okPerSecOverall: spanMs > 0 ? Math.round((acknowledged.length * 1000) / spanMs) : "-",
  });
}

/** The first position in sorted `values` whose value is at least `value`. */
function lowerBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (values[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
