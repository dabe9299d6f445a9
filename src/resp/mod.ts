/**
 * @module
 * The RESP codec: client request parsing, reply/command encoding, and scanning
 * and decoding of replies from redis-server.
 */

export { BIG_BULK_MIN_BYTES, RequestParser, type RequestParserOptions } from "./request_parser.ts";
export {
  DEFAULT_REQUEST_LIMITS,
  type RequestLimits,
  UNAUTHENTICATED_BULK_MAX_BYTES,
  UNAUTHENTICATED_MULTIBULK_MAX_COUNT,
} from "./request_limits.ts";
export { PROTOCOL_ERROR_MESSAGES, ProtocolError } from "./protocol_error.ts";
export { splitInlineArgs } from "./inline_args.ts";
export { parseRedisInteger } from "./resp_integer.ts";
export {
  encodeCommand,
  encodeCommandParts,
  REPLY_NULL_ARRAY,
  REPLY_NULL_BULK,
  REPLY_OK,
  ReplyWriter,
} from "./reply_writer.ts";
export {
  DEFAULT_REPLY_SCANNER_LIMITS,
  ReplyScanner,
  type ReplyScannerLimits,
} from "./reply_scanner.ts";
export { ReplyProtocolError } from "./reply_protocol_error.ts";
export {
  decodeReply,
  type DecodeReplyOptions,
  ReplyError,
  type ReplyValue,
} from "./reply_decoder.ts";
