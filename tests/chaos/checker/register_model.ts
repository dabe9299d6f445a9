/**
 * @module
 * The sequential specification of one register (a Redis string key) for the linearizability
 * checker: read, write, compare-and-set. Indeterminate (`info`) writes and CAS may or may not
 * have happened; since their completion is placed at the end of time, "never happened" is the
 * same as "linearized last", so the model only needs their effect when applied.
 */
import type { Operation } from "../history.ts";

/** A register state: the value, or null when the key does not exist. */
export type RegisterState = string | null;

/** Sentinel: no such transition. */
export const ILLEGAL = Symbol("illegal");

/** Apply `op` to `state`: the next state, or ILLEGAL if the op could not have seen this state. */
export function stepRegister(state: RegisterState, op: Operation): RegisterState | typeof ILLEGAL {
  switch (op.f) {
    case "read":
      return op.output === state ? state : ILLEGAL;
    case "write":
      return op.input as string;
    case "cas": {
      const [expected, next] = op.input as [string | null, string];
      if (op.status === "info") return state === expected ? next : state;
      if (op.output === true) return state === expected ? next : ILLEGAL;
      return state !== expected ? state : ILLEGAL;
    }
    default:
      throw new Error(`register model: unknown operation ${op.f}`);
  }
}

/** Ops that carry no constraint and no effect are left out before checking. */
export function isRelevantRegisterOp(op: Operation): boolean {
  if (op.status === "fail") return false;
  if (op.status === "info" && op.f === "read") return false;
  return true;
}

/** Ops that never change the state (dropping one only removes a constraint). */
export function isObservationOnly(op: Operation): boolean {
  return op.f === "read" || (op.f === "cas" && op.status === "ok" && op.output === false);
}
