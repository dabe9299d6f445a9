/**
 * @module
 * The error a client request parser raises when a client breaks the protocol.
 * Its message is redis-server's exact text; the server replies `-ERR <message>`
 * (when {@link ProtocolError.replyExpected}) and closes the connection.
 */

/** Redis 7.0 networking.c texts, one per condition. */
export const PROTOCOL_ERROR_MESSAGES = {
  invalidMultibulkLength: "Protocol error: invalid multibulk length",
  invalidBulkLength: "Protocol error: invalid bulk length",
  tooBigInlineRequest: "Protocol error: too big inline request",
  tooBigMbulkCountString: "Protocol error: too big mbulk count string",
  tooBigBulkCountString: "Protocol error: too big bulk count string",
  unbalancedQuotes: "Protocol error: unbalanced quotes in request",
  unauthenticatedMultibulkLength: "Protocol error: unauthenticated multibulk length",
  unauthenticatedBulkLength: "Protocol error: unauthenticated bulk length",
  /** Redis closes such a client without a reply; this text is only for logs. */
  queryBufferLimit: "closing client that reached max query buffer length",
} as const;

/** A client protocol violation; the parser that threw it is dead. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** False when redis-server closes the connection without replying (query buffer limit). */
  readonly replyExpected: boolean;

  constructor(message: string, replyExpected = true) {
    super(message);
    this.replyExpected = replyExpected;
  }

  /** `-ERR <message>\r\n`, byte for byte as redis-server sends it (message chars are latin1). */
  reply(): Uint8Array {
    const text = "-ERR " + this.message + "\r\n";
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  /** `Protocol error: expected '$', got 'X'`, with CR and LF shown as a space like Redis does. */
  static expectedDollar(byte: number): ProtocolError {
    const shown = byte === 13 || byte === 10 ? 32 : byte;
    return new ProtocolError(
      "Protocol error: expected '$', got '" + String.fromCharCode(shown) + "'",
    );
  }
}
