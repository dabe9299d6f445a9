/**
 * @module
 * Availability through faults the cluster must ride out, each judged on its own windows:
 * - a bridge (two halves that cannot reach each other, one node reaching both): some node still
 *   reaches a majority, and with PreVote and CheckQuorum the cluster must go on serving;
 * - a slow disk on one node: the others make a quorum, and a leader with that disk hands
 *   leadership over (or, if it all but hangs, is replaced), so the cluster must serve at a good
 *   share of its usual rate.
 * Every window held at least the rule's `minHoldMs` with no other fault active is judged on its
 * second half (the first leaves time for an election or a hand-off that the fault, or one
 * before it, may have started): that half must acknowledge an operation, and at least
 * `minShareOfOverallRate` of the run's overall rate of acknowledged operations.
 */
import type { HistoryEvent, Operation } from "../history.ts";
import { type Anomaly, type Verdict, verdictOf } from "./verdict.ts";

export interface AvailabilityRule {
  /** The verdict's name. */
  readonly checker: string;
  /** The nemesis whose windows are judged, and how its start's detail begins. */
  readonly nemesis: string;
  readonly detailPrefix: string;
  /** A window held shorter than this is not judged. */
  readonly minHoldMs: number;
  /** Share of the run's overall rate the second half must reach (0: one operation). */
  readonly minShareOfOverallRate: number;
  readonly anomalyKind: string;
  /** Why the cluster could serve (the anomaly's message ends with it). */
  readonly because: string;
}

export const bridgeRule: AvailabilityRule = {
  checker: "bridge-availability",
  nemesis: "partition",
  detailPrefix: "bridge",
  minHoldMs: 2_000,
  minShareOfOverallRate: 0,
  anomalyKind: "unavailable-during-bridge",
  because: "although a node reached every other",
};

export const slowDiskRule: AvailabilityRule = {
  checker: "slowdisk-availability",
  nemesis: "slowdisk",
  detailPrefix: "throttled",
  minHoldMs: 4_000,
  minShareOfOverallRate: 0.25,
  anomalyKind: "slow-during-slow-disk",
  because: "although only one node's disk was slow",
};

interface FaultWindow {
  detail: string;
  startMs: number;
  endMs: number;
  /** No other fault was active at any time during the window. */
  alone: boolean;
}

/** The rule's windows in `events`, each with whether another fault overlapped it. */
export function faultWindows(
  events: readonly HistoryEvent[],
  rule: AvailabilityRule,
): FaultWindow[] {
  const active = new Set<string>();
  const windows: FaultWindow[] = [];
  let open: FaultWindow | undefined;
  const close = (timeMs: number) => {
    if (open === undefined) return;
    open.endMs = timeMs;
    windows.push(open);
    open = undefined;
  };
  for (const event of events) {
    if (event.type !== "nemesis" || event.phase === "note") continue;
    if (event.name === "heal") {
      close(event.timeMs); // the run's end heals whatever is still faulty
      continue;
    }
    if (event.phase === "stop") {
      active.delete(event.name);
      if (event.name === rule.nemesis) close(event.timeMs);
      continue;
    }
    if (event.name === rule.nemesis && event.detail.startsWith(rule.detailPrefix)) {
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

export function checkAvailability(
  events: readonly HistoryEvent[],
  ops: readonly Operation[],
  rule: AvailabilityRule,
): Verdict {
  const acknowledged = ops.filter((op) => op.status === "ok").map((op) => op.completeMs)
    .sort((a, b) => a - b);
  const countIn = (fromMs: number, toMs: number) =>
    lowerBound(acknowledged, toMs) - lowerBound(acknowledged, fromMs);
  const spanMs = acknowledged.length > 1 ? acknowledged.at(-1)! - acknowledged[0] : 0;
  const overallPerSec = spanMs > 0 ? (acknowledged.length * 1000) / spanMs : 0;
  const anomalies: Anomaly[] = [];
  const windows = faultWindows(events, rule);
  let judged = 0;
  let judgedMs = 0;
  let judgedOk = 0;
  for (const window of windows) {
    const heldMs = window.endMs - window.startMs;
    if (!window.alone || !(heldMs >= rule.minHoldMs) || !Number.isFinite(heldMs)) continue;
    judged++;
    judgedMs += heldMs;
    judgedOk += countIn(window.startMs, window.endMs);
    const halfMs = window.startMs + heldMs / 2;
    const secondHalfOk = countIn(halfMs, window.endMs);
    const neededOk = Math.max(1, rule.minShareOfOverallRate * overallPerSec * (heldMs / 2000));
    if (secondHalfOk < neededOk) {
      anomalies.push({
        kind: rule.anomalyKind,
        message: `${window.detail}: ${secondHalfOk} operations acknowledged from ${
          Math.round(halfMs)
        } to ${Math.round(window.endMs)} ms (at least ${
          Math.ceil(neededOk)
        } expected), ${rule.because}`,
      });
    }
  }
  return verdictOf(rule.checker, anomalies, {
    windows: windows.length,
    judged,
    okPerSecDuringWindows: judgedMs > 0 ? Math.round((judgedOk * 1000) / judgedMs) : "-",
    okPerSecOverall: spanMs > 0 ? Math.round(overallPerSec) : "-",
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
