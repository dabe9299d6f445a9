/**
 * @module
 * The common answer of every checker: valid, invalid (with the anomalies found, each with the
 * operations that show it) or unknown (the checker ran out of its budget).
 */

export type VerdictKind = "valid" | "invalid" | "unknown";

export interface Anomaly {
  /** Short kind, e.g. `stale-read`, `lost-append`, `nonlinearizable`. */
  kind: string;
  key?: string;
  message: string;
  /** Rendered operations that show the anomaly (see `formatOp`). */
  ops?: string[];
}

export interface Verdict {
  checker: string;
  kind: VerdictKind;
  anomalies: Anomaly[];
  /** Free-form numbers worth reporting (ops checked, keys, elapsed ms, ...). */
  stats: Record<string, number | string>;
}

export function verdictOf(
  checker: string,
  anomalies: Anomaly[],
  stats: Record<string, number | string> = {},
  unknown = false,
): Verdict {
  const kind: VerdictKind = anomalies.length > 0 ? "invalid" : unknown ? "unknown" : "valid";
  return { checker, kind, anomalies, stats };
}

/** The worst of several verdicts (invalid > unknown > valid). */
export function worstKind(verdicts: Verdict[]): VerdictKind {
  if (verdicts.some((v) => v.kind === "invalid")) return "invalid";
  if (verdicts.some((v) => v.kind === "unknown")) return "unknown";
  return "valid";
}
