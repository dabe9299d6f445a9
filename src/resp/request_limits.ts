/**
 * @module
 * Upper bounds a {@link RequestParser} enforces on one client's input, named
 * after the redis-server settings they mirror.
 */

/** Limits on client requests. Every field is a hard bound checked before allocating. */
export interface RequestLimits {
  /** Largest bulk argument (`proto-max-bulk-len`). Larger → `invalid bulk length`. */
  protoMaxBulkLenBytes: number;
  /**
   * Most arguments in one multibulk request. Redis only rejects counts above INT_MAX;
   * we default to 1,048,576 (more than any real command needs) so that a hostile
   * `*<huge>` cannot make us hold an argv array of that size. Larger → `invalid multibulk length`.
   */
  multibulkMaxCount: number;
  /** Longest inline request line and `*`/`$` header line (`PROTO_INLINE_MAX_SIZE`). */
  inlineMaxBytes: number;
  /** Most bytes held for one client: unparsed input plus the arguments of the command
   * being assembled (`client-query-buffer-limit`). Exceeded → close without reply. */
  queryBufferMaxBytes: number;
}

/** Redis 7.0 defaults (except {@link RequestLimits.multibulkMaxCount}, see there). */
export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  protoMaxBulkLenBytes: 512 * 1024 * 1024,
  multibulkMaxCount: 1024 * 1024,
  inlineMaxBytes: 64 * 1024,
  queryBufferMaxBytes: 1024 * 1024 * 1024,
});

/** Redis's limits for a connection that has not authenticated yet (networking.c). */
export const UNAUTHENTICATED_MULTIBULK_MAX_COUNT = 10;
export const UNAUTHENTICATED_BULK_MAX_BYTES = 16384;
