/**
 * @module
 * Bounds how long a Lua script can run, identically on every node. A script runs on every
 * node's child from the log: one that never ends would hold every child, and every write after
 * it, for good (also after a restart, which replays it). A timer cannot stop it at the same
 * point everywhere, so the count of loop iterations and function calls does: a check goes at
 * the start of every loop body (after `do` and `repeat`) and every function body (after its
 * parameter list), on the same line, so Lua's messages keep the script's line numbers. Past
 * the budget each check raises an error, so no loop survives it (a `pcall` around a loop ends
 * at the next check outside it).
 */

/** The counter the checks share (the sandbox resets it for each call of a library's function). */
export const stepCounterName = "__raft_n";
/** True while a function library's own code runs (FUNCTION LOAD). */
export const stepLoadingName = "__raft_loading";

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
    "local function __raft_stop()",
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
  return ` ${n}=${n}+1 if ${n}>${maxSteps} then __raft_stop() end;`;
}

const nameStart = /[A-Za-z_]/;
const namePart = /[A-Za-z0-9_]/;

/**
 * `source` with a step check after each `do`, `repeat` and function parameter list. Strings
 * and comments are skipped; on input Lua would not parse (an unterminated string), the rest is
 * left as it is, for Lua to report.
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
  while (i < source.length) {
    const c = source[i];
    if (c === "-" && source[i + 1] === "-") {
      const level = longBracketLevel(source, i + 2);
      if (level >= 0) {
        const end = longBracketEnd(source, i + 2, level);
        if (end < 0) break;
        i = end;
      } else {
        const newline = source.indexOf("\n", i);
        i = newline < 0 ? source.length : newline + 1;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      const end = quotedEnd(source, i);
      if (end < 0) break;
      i = end;
      continue;
    }
    if (c === "[") {
      const level = longBracketLevel(source, i);
      if (level >= 0) {
        const end = longBracketEnd(source, i, level);
        if (end < 0) break;
        i = end;
        continue;
      }
    }
    if (nameStart.test(c)) {
      let end = i + 1;
      while (end < source.length && namePart.test(source[end])) end++;
      const word = source.slice(i, end);
      // A keyword is never a field name in Lua (t.do does not parse), so no context is needed.
      if (word === "do" || word === "repeat") insertAt(end);
      else if (word === "function") functionState = 1;
      i = end;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      // A number, with its exponent sign and hex digits (so 1e-5's 'e' is not a name).
      i++;
      while (i < source.length) {
        if (/[0-9A-Za-z_.]/.test(source[i])) i++;
        else if ((source[i] === "-" || source[i] === "+") && /[eE]/.test(source[i - 1])) i++;
        else break;
      }
      continue;
    }
    if (c === "(" && functionState === 1) functionState = 2;
    else if (c === ")" && functionState === 2) {
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
