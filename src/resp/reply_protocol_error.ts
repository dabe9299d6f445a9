/**
 * @module
 * The error raised when bytes from redis-server are not valid RESP2/RESP3 (or a
 * reply exceeds its size bound). It means the child connection is unusable.
 */

/** Malformed or oversized reply from redis-server. */
export class ReplyProtocolError extends Error {
  override readonly name = "ReplyProtocolError";
}
