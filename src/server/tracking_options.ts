/**
 * @module
 * CLIENT TRACKING's options, CLIENT CACHING and CLIENT TRACKINGINFO as Redis 7.0 parses,
 * checks and answers them (its error texts, its prefix overlap rule, its TRACKINGINFO fields).
 */
import {
  encodeArrayHeader,
  encodeBulk,
  encodeError,
  encodeInteger,
  encodeMapHeader,
  encodeSetHeader,
  encodeSimple,
} from "./replies.ts";
import { concatBytes, lowerAscii } from "../resp/bytes.ts";
import { parseRedisInteger } from "../resp/resp_integer.ts";
import type { RespProtocol } from "../resp/resp_protocol.ts";
import { compareBytes, firstOverlap } from "./prefix_overlap.ts";

/** One client's tracking settings. */
export interface TrackingState {
  redirect: number;
  bcast: boolean;
  /** BCAST prefixes, sorted by bytes; no two overlap. */
  prefixes: Uint8Array[];
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes|no for the next command (or the next transaction); null: not given. */
  caching: boolean | null;
  redirectBroken: boolean;
}

export const OK = encodeSimple("OK");
const syntaxError = encodeError("ERR syntax error");
const decoder = new TextDecoder();

/**
 * CLIENT TRACKING ON|OFF [options]: the client's new state (null: off), or the error reply.
 * `old` is its state now; `clientExists` tells whether a REDIRECT target is connected.
 */
export function parseTracking(
  args: Uint8Array[],
  old: TrackingState | undefined,
  clientExists: (id: number) => boolean,
): TrackingState | null | Uint8Array {
  let redirect = 0;
  let bcast = false, optin = false, optout = false, noloop = false;
  const prefixes: Uint8Array[] = [];
  for (let j = 3; j < args.length; j++) {
    const option = lowerAscii(args[j]);
    const more = j < args.length - 1;
    if (option === "redirect" && more) {
      j++;
      if (redirect !== 0) {
        return encodeError("ERR A client can only redirect to a single other client");
      }
      const id = parseRedisInteger(args[j], 0, args[j].length);
      if (Number.isNaN(id)) return encodeError("ERR value is not an integer or out of range");
      if (!clientExists(id)) {
        return encodeError("ERR The client ID you want redirect to does not exist");
      }
      redirect = id;
    } else if (option === "bcast") bcast = true;
    else if (option === "optin") optin = true;
    else if (option === "optout") optout = true;
    else if (option === "noloop") noloop = true;
    else if (option === "prefix" && more) prefixes.push(args[++j].slice());
    else return syntaxError;
  }
  const onOff = lowerAscii(args[2]);
  if (onOff === "off") return null;
  if (onOff !== "on") return syntaxError;
  if (!bcast && prefixes.length > 0) {
    return encodeError("ERR PREFIX option requires BCAST mode to be enabled");
  }
  if (old && old.bcast !== bcast) {
    return encodeError(
      "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
    );
  }
  if (bcast && (optin || optout)) {
    return encodeError("ERR OPTIN and OPTOUT are not compatible with BCAST");
  }
  if (optin && optout) {
    return encodeError("ERR You can't specify both OPTIN mode and OPTOUT mode");
  }
  if (old && ((optin && old.optout) || (optout && old.optin))) {
    return encodeError(
      "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
    );
  }
  const overlap = prefixOverlap(old?.prefixes ?? [], prefixes);
  if (overlap) return encodeError(overlap);
  // BCAST with no PREFIX is the empty prefix: every key (as Redis, given once).
  if (bcast && prefixes.length === 0 && !old?.prefixes.some((p) => p.length === 0)) {
    prefixes.push(new Uint8Array(0));
  }
  return {
    redirect,
    bcast,
    // Sorted, for lookups by binary search (see prefix_overlap.ts).
    prefixes: [...(old?.prefixes ?? []), ...prefixes].sort(compareBytes),
    optin,
    optout,
    noloop,
    caching: null,
    redirectBroken: false,
  };
}

/** CLIENT CACHING yes|no: sets `state.caching`; its reply. */
export function applyCaching(state: TrackingState | undefined, args: Uint8Array[]): Uint8Array {
  if (args.length !== 3 || !state || !(state.optin || state.optout)) {
    return encodeError(
      "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    );
  }
  const answer = lowerAscii(args[2]);
  if (answer === "yes") {
    if (!state.optin) {
      return encodeError(
        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
      );
    }
    state.caching = true;
  } else if (answer === "no") {
    if (!state.optout) {
      return encodeError(
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
      );
    }
    state.caching = false;
  } else {
    return syntaxError;
  }
  return OK;
}

/** CLIENT TRACKINGINFO's reply for `state` (undefined: off). */
export function encodeTrackingInfo(
  state: TrackingState | undefined,
  protocol: RespProtocol,
): Uint8Array {
  const flags: string[] = [];
  if (!state) flags.push("off");
  else {
    flags.push("on");
    if (state.bcast) flags.push("bcast");
    if (state.optin) flags.push("optin");
    if (state.optout) flags.push("optout");
    if (state.caching === true) flags.push("caching-yes");
    if (state.caching === false) flags.push("caching-no");
    if (state.noloop) flags.push("noloop");
    if (state.redirectBroken) flags.push("broken_redirect");
  }
  // In byte order, as Redis's radix tree lists them (the state keeps them so).
  const prefixes = state?.prefixes ?? [];
  return concatBytes([
    encodeMapHeader(3, protocol),
    encodeBulk("flags"),
    encodeSetHeader(flags.length, protocol),
    ...flags.map((flag) => encodeBulk(flag)),
    encodeBulk("redirect"),
    encodeInteger(state ? state.redirect : -1),
    encodeBulk("prefixes"),
    encodeArrayHeader(prefixes.length),
    ...prefixes.map((prefix) => encodeBulk(prefix)),
  ]);
}

/** Redis's error for a new prefix that starts or extends another one; null if none does. */
function prefixOverlap(existingSorted: Uint8Array[], added: Uint8Array[]): string | null {
  const overlap = firstOverlap(existingSorted, added);
  if (!overlap) return null;
  const prefix = decoder.decode(overlap.prefix);
  const rule = "Prefixes for a single client must not overlap.";
  return "existing" in overlap
    ? `ERR Prefix '${prefix}' overlaps with an existing prefix '${
      decoder.decode(overlap.existing)
    }'. ${rule}`
    : `ERR Prefix '${prefix}' overlaps with another provided prefix '${
      decoder.decode(overlap.provided)
    }'. ${rule}`;
}
