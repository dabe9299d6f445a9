/**
 * @module
 * MONITOR: the clients that asked to see every command this node's clients send, and the line
 * each such command becomes, in Redis's format (replicationFeedMonitors): a status reply
 * `+<seconds>.<microseconds> [0 <client address>] "arg" ...` with each argument quoted as
 * sdscatrepr quotes it, and passwords given to AUTH or HELLO shown as "(redacted)" (also in a
 * malformed AUTH, which Redis shows as sent). A monitor
 * that does not read what it is sent is disconnected once it holds more than the client reply
 * buffer limit, as Redis's output buffer limit does.
 */
import { lowerAscii } from "../resp/bytes.ts";
import type { ClientSession } from "./client_session.ts";

const encoder = new TextEncoder();
const REDACTED = encoder.encode("(redacted)");

export class MonitorFeed {
  private readonly monitors = new Set<ClientSession>();

  constructor(private readonly replyBufferMaxBytes: number) {}

  /** True while some client monitors: only then are lines formatted at all. */
  get active(): boolean {
    return this.monitors.size > 0;
  }

  add(session: ClientSession): void {
    this.monitors.add(session);
  }

  delete(session: ClientSession): void {
    this.monitors.delete(session);
  }

  /** Send one command's line (see `monitorArgs`) from the client at `addr` to every monitor. */
  feed(addr: string, quotedArgs: string): void {
    const line = encoder.encode(`+${timestamp()} [0 ${addr}] ${quotedArgs}\r\n`);
    for (const monitor of this.monitors) {
      if (!monitor.isOpen || monitor.state.replyMode === "off") continue;
      // Not behind the monitor's own replies still awaited: Redis writes the line at once.
      monitor.replies.pushOutOfBand(line);
      if (monitor.replies.unsentBytes > this.replyBufferMaxBytes) monitor.close();
    }
  }
}

/** A command's arguments as a monitor line shows them: quoted, passwords redacted. */
export function monitorArgs(args: readonly Uint8Array[]): string {
  const name = lowerAscii(args[0]);
  const shown = args.slice();
  if (name === "auth") {
    for (let i = 1; i < shown.length; i++) shown[i] = REDACTED;
  } else if (name === "hello") {
    // Its options as helloCommand reads them (SETNAME takes one argument, AUTH two, reading
    // stops at an unknown one): every AUTH's user name and password. Redis shows them when the
    // protocol version is refused or an AUTH fails before a second one; we hide them always.
    for (let i = 2; i < shown.length; i++) {
      const option = lowerAscii(shown[i]);
      const more = shown.length - 1 - i;
      if (option === "auth" && more >= 2) {
        shown[i + 1] = REDACTED;
        shown[i + 2] = REDACTED;
        i += 2;
      } else if (option === "setname" && more >= 1) {
        i++;
      } else {
        break;
      }
    }
  }
  return shown.map(quote).join(" ");
}

/** Redis's sdscatrepr: printable ASCII as is, the usual escapes, every other byte as \xHH. */
export function quote(bytes: Uint8Array): string {
  let out = '"';
  for (const byte of bytes) {
    switch (byte) {
      case 0x5c:
        out += "\\\\";
        break;
      case 0x22:
        out += '\\"';
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x07:
        out += "\\a";
        break;
      case 0x08:
        out += "\\b";
        break;
      default:
        out += byte >= 0x20 && byte <= 0x7e
          ? String.fromCharCode(byte)
          : `\\x${byte.toString(16).padStart(2, "0")}`;
    }
  }
  return out + '"';
}

/** Wall-clock time as Redis prints it: seconds, a dot, six digits of microseconds. */
function timestamp(): string {
  const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return `${Math.floor(nowUs / 1e6)}.${String(nowUs % 1e6).padStart(6, "0")}`;
}
