/**
 * @module
 * Test helper: terse construction of histories for the checker tests. Times are in ms; an
 * `info` op without a completion time completes at +∞.
 */
import type { Operation, OpStatus } from "../../chaos/history.ts";

export class HistoryBuilder {
  readonly ops: Operation[] = [];

  add(
    f: string,
    key: string,
    input: unknown,
    output: unknown,
    invokeMs: number,
    completeMs: number,
    status: OpStatus = "ok",
  ): this {
    this.ops.push({
      id: this.ops.length,
      client: this.ops.length,
      f,
      key,
      input,
      output: status === "ok" ? output : undefined,
      status,
      invokeMs,
      completeMs: status === "info" && !Number.isFinite(completeMs) ? Infinity : completeMs,
    });
    return this;
  }
}
