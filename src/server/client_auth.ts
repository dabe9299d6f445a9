/**
 * @module
 * Client authentication with `--requirepass`, as Redis's requirepass: the one user is
 * `default`; until a connection gives the password with AUTH or HELLO ... AUTH, every other
 * command answers NOAUTH. Peers' RAFT.HELLO carries the cluster password instead.
 */
import { timingSafeEqual } from "node:crypto";
import { binaryBytes, lowerAscii } from "../resp/bytes.ts";

const decoder = new TextDecoder();

/** Commands a connection may send before it authenticates. */
export const noAuthCommandNames = new Set([
  "auth",
  "hello",
  "quit",
  "reset",
  "raft.hello",
  "raft.msg",
]);

export const Auth = {
  required: "NOAUTH Authentication required.",
  wrong: "WRONGPASS invalid username-password pair or user is disabled.",
  helloFirst:
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
} as const;

/** True if `user` (default when absent) and `password` match the configured password. */
export function passwordMatches(
  configured: string,
  user: Uint8Array | undefined,
  password: Uint8Array,
): boolean {
  if (user !== undefined && decoder.decode(user) !== "default") return false;
  const expected = new TextEncoder().encode(configured);
  return expected.length === password.length && timingSafeEqual(expected, password);
}

/** HELLO [protover [AUTH user pass] [SETNAME name]], parsed as Redis 7.0 does. */
export type HelloRequest =
  | { error: string }
  | { version?: 2 | 3; user?: Uint8Array; password?: Uint8Array; name?: string };

export function parseHello(args: Uint8Array[]): HelloRequest {
  let next = 1;
  let version: 2 | 3 | undefined;
  if (args.length >= 2) {
    const text = decoder.decode(args[next++]);
    if (!/^(0|-?[1-9]\d{0,18})$/.test(text)) {
      return { error: "ERR Protocol version is not an integer or out of range" };
    }
    const number = Number(text);
    if (number !== 2 && number !== 3) return { error: "NOPROTO unsupported protocol version" };
    version = number;
  }
  const request: { version?: 2 | 3; user?: Uint8Array; password?: Uint8Array; name?: string } = {
    version,
  };
  for (let j = next; j < args.length; j++) {
    const more = args.length - 1 - j;
    const option = lowerAscii(args[j]);
    if (option === "auth" && more >= 2) {
      request.user = args[j + 1];
      request.password = args[j + 2];
      j += 2;
    } else if (option === "setname" && more >= 1) {
      request.name = decoder.decode(args[j + 1]);
      j++;
    } else {
      return { error: `ERR Syntax error in HELLO option '${decoder.decode(args[j])}'` };
    }
  }
  return request;
}

const latin1 = new TextDecoder("latin1");
const helloIdField = /\$2\r\nid\r\n:\d+\r\n/;

const helloModulesField = "$7\r\nmodules\r\n";

/**
 * The child's HELLO reply (an array in RESP2, a map in RESP3) with its `id` field replaced by
 * `clientId` and its `modules` (the last field) emptied: the child's clock module is the node's
 * business, as MODULE is refused. Other replies unchanged.
 */
export function helloWithClientId(reply: Uint8Array, clientId: number): Uint8Array {
  const text = latin1.decode(reply);
  if (!(text.startsWith("*") || text.startsWith("%")) || !helloIdField.test(text)) return reply;
  let fixed = text.replace(helloIdField, `$2\r\nid\r\n:${clientId}\r\n`);
  const modules = fixed.lastIndexOf(helloModulesField);
  if (modules >= 0) fixed = fixed.slice(0, modules + helloModulesField.length) + "*0\r\n";
  return binaryBytes(fixed);
}
