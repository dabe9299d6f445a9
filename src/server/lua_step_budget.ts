/**
 * @module
 * Bounds how long a Lua script can run, identically on every node. A script runs on every
 * node's child from the log: one that never ends would hold every child, and every write after
 * it, for good (also after a restart, which replays it). A timer cannot stop it at the same
 * point everywhere, so the count of loop iterations and function calls does: a check goes at
 * the start of every loop body (after `do` and `repeat`) and every function body (after its
 * parameter list), on the same line, so Lua's messages keep the script's line numbers. Past
 * the budget each check raises an error, so no loop survives it (a `pcall` around a loop ends
 * at the next check outside it). The sandbox's own names (`__raft_...`) are out of a script's
 * reach: a script's names of that form get one more leading `u` (it could reset the counter).
 */

/** The counter the checks share (the sandbox resets it for each call of a library's function). */
export const stepCounterName = "__raft_n";
/** True while a function library's own code runs (FUNCTION LOAD). */
export const stepLoadingName = "__raft_loading";
/** What a check calls past the budget. */
const stepStopName = "__raft_stop";

export const stepLimitError = "ERR script exceeded the step limit (script-steps-max-count)";

/**
 * Declares the counter and what a check calls past the budget. While a library loads, Lua's
 * `error` is off limits (as almost every global): calling a nil local named for the reason
 * fails there with that name in the message.
 */
export function stepBudgetPrologue(): string {
  return [
    `local ${stepCounterName} = 0`,
    `local ${stepLoadingName} = false`,
    `local function ${stepStopName}()`,
    `  if ${stepLoadingName} then`,
    "    local step_limit_exceeded_while_loading step_limit_exceeded_while_loading()",
    "  end",
    `  error({err=${JSON.stringify(stepLimitError)}})`,
    "end",
  ].join(" ");
}

/** The Lua inserted at each loop and function start. */
export function stepCheck(maxSteps: number): string {
  const n = stepCounterName;
  return ` ${n}=${n}+1 if ${n}>${maxSteps} then ${stepStopName}() end;`;
}

/** ASCII classes, as bits: 1 starts a name (letter, `_`), 2 continues one (those and digits), 4 a digit. */
const NAME_START = 1;
const NAME_PART = 2;
const DIGIT = 4;
const classes = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_]/.test(ch)) classes[c] = NAME_START | NAME_PART;
  if (/[0-9]/.test(ch)) classes[c] = NAME_PART | DIGIT;
}
const is = (code: number, kind: number) => code < 128 && (classes[code] & kind) !== 0;

const DASH = 45, QUOTE = 34, APOSTROPHE = 39, OPEN_BRACKET = 91, DOT = 46; // deno-fmt-ignore
const OPEN_PAREN = 40, CLOSE_PAREN = 41, PLUS = 43, LOWER_E = 101, UPPER_E = 69; // deno-fmt-ignore
const UNDERSCORE = 95, LOWER_U = 117; // deno-fmt-ignore
const reservedPrefix = "__raft_";

/** `u…u__raft_…` (zero or more `u`): the sandbox's names and what renaming one could make. */
function isReservedShape(source: string, start: number, end: number): boolean {
  let at = start;
  while (at < end && source.charCodeAt(at) === LOWER_U) at++;
  return end - at >= reservedPrefix.length && source.startsWith(reservedPrefix, at);
}

/**
 * `source` with a step check after each `do`, `repeat` and function parameter list, and each
 * name of the sandbox's form renamed (a leading `u` more). Strings and comments are skipped; on
 * input Lua would not parse (an unterminated string), the rest is left as it is, for Lua to
 * report.
 */
export function boundSteps(source: string, maxSteps: number): string {
  const check = stepCheck(maxSteps);
  const out: string[] = [];
  let copied = 0;
  let i = 0;
  /** After `function`: waiting for the parameter list's `(` (1) or its `)` (2). */
  let functionState = 0;
  const insertAt = (at: number) => {
    out.push(source.slice(copied, at), check);
    copied = at;
  };
  const n = source.length;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === DASH && source.charCodeAt(i + 1) === DASH) {
      const level = longBracketLevel(source, i + 2);
      if (level >= 0) {
        const end = longBracketEnd(source, i + 2, level);
        if (end < 0) break;
        i = end;
      } else {
        const newline = source.indexOf("\n", i);
        i = newline < 0 ? n : newline + 1;
      }
      continue;
    }
    if (c === QUOTE || c === APOSTROPHE) {
      const end = quotedEnd(source, i);
      if (end < 0) break;
      i = end;
      continue;
    }
    if (c === OPEN_BRACKET) {
      const level = longBracketLevel(source, i);
      if (level >= 0) {
        const end = longBracketEnd(source, i, level);
        if (end < 0) break;
        i = end;
        continue;
      }
    }
    if (is(c, NAME_START)) {
      let end = i + 1;
      while (end < n && is(source.charCodeAt(end), NAME_PART)) end++;
      const length = end - i;
      if ((c === UNDERSCORE || c === LOWER_U) && isReservedShape(source, i, end)) {
        out.push(source.slice(copied, i), "u");
        copied = i;
      }
      // A keyword is never a field name in Lua (t.do does not parse), so no context is needed.
      if (length === 2 || length === 6 || length === 8) {
        const word = source.slice(i, end);
        if (word === "do" || word === "repeat") insertAt(end);
        else if (word === "function") functionState = 1;
      }
      i = end;
      continue;
    }
    if (is(c, DIGIT) || (c === DOT && is(source.charCodeAt(i + 1), DIGIT))) {
      // A number, with its exponent sign and hex digits (so 1e-5's 'e' is not a name).
      i++;
      while (i < n) {
        const d = source.charCodeAt(i);
        if (is(d, NAME_PART) || d === DOT) i++;
        else if (
          (d === DASH || d === PLUS) &&
          (source.charCodeAt(i - 1) === LOWER_E || source.charCodeAt(i - 1) === UPPER_E)
        ) i++;
        else break;
      }
      continue;
    }
    if (c === OPEN_PAREN && functionState === 1) functionState = 2;
    else if (c === CLOSE_PAREN && functionState === 2) {
      functionState = 0;
      insertAt(i + 1);
    }
    i++;
  }
  out.push(source.slice(copied));
  return out.join("");
}

/** The level of a long bracket opening at `at` (`[[` is 0, `[==[` is 2), or -1 if none. */
function longBracketLevel(source: string, at: number): number {
  if (source[at] !== "[") return -1;
  let level = 0;
  while (source[at + 1 + level] === "=") level++;
  return source[at + 1 + level] === "[" ? level : -1;
}

/** Just past the long bracket closing the one opened at `at`, or -1 if it never closes. */
function longBracketEnd(source: string, at: number, level: number): number {
  const close = "]" + "=".repeat(level) + "]";
  const end = source.indexOf(close, at + level + 2);
  return end < 0 ? -1 : end + close.length;
}

/** Just past the quoted string opening at `at`, or -1 if it is not closed on its line. */
function quotedEnd(source: string, at: number): number {
  const quote = source[at];
  let i = at + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") {
      i += 2; // an escaped character, or an escaped newline (which continues the string)
      continue;
    }
    if (c === quote) return i + 1;
    if (c === "\n") return -1;
    i++;
  }
  return -1;
}
