/**
 * @module
 * Redis's glob patterns (`stringmatchlen`): `*`, `?`, `[abc]`, `[^a-z]` and `\` escapes, as
 * `CONFIG GET` reads them. A `*` backtracks only to the latest star, so matching takes at most
 * pattern length × text length steps: a pattern of many stars cannot stall the node (a regular
 * expression built from it backtracked exponentially: 25 stars took minutes).
 */

/**
 * The pattern index after the one-character item at `at` if it matches `char`, else -1. An
 * unterminated `[` takes the rest of the pattern as its class, as Redis does.
 */
function matchOne(pattern: string, at: number, char: string): number {
  const item = pattern[at];
  if (item === "?") return at + 1;
  if (item === "\\" && at + 1 < pattern.length) return pattern[at + 1] === char ? at + 2 : -1;
  if (item !== "[") return item === char ? at + 1 : -1;
  let i = at + 1;
  const negated = pattern[i] === "^";
  if (negated) i++;
  let matched = false;
  while (i < pattern.length && pattern[i] !== "]") {
    if (pattern[i] === "\\" && i + 1 < pattern.length) {
      if (pattern[i + 1] === char) matched = true;
      i += 2;
    } else if (i + 2 < pattern.length && pattern[i + 1] === "-") {
      const [low, high] = [pattern[i], pattern[i + 2]].sort();
      if (char >= low && char <= high) matched = true;
      i += 3;
    } else {
      if (pattern[i] === char) matched = true;
      i++;
    }
  }
  return matched !== negated ? Math.min(i + 1, pattern.length) : -1;
}

/** True if all of `text` matches `pattern`; `nocase` folds ASCII letters (CONFIG GET's way). */
export function globMatch(pattern: string, text: string, nocase = false): boolean {
  const p = nocase ? pattern.toLowerCase() : pattern;
  const t = nocase ? text.toLowerCase() : text;
  let pi = 0;
  let ti = 0;
  // Where the latest star's match resumes: the pattern after it, the text it has taken so far.
  let starPattern = -1;
  let starText = 0;
  while (ti < t.length) {
    if (p[pi] === "*") {
      while (p[pi] === "*") pi++;
      if (pi === p.length) return true;
      starPattern = pi;
      starText = ti;
      continue;
    }
    const next = pi < p.length ? matchOne(p, pi, t[ti]) : -1;
    if (next >= 0) {
      pi = next;
      ti++;
      continue;
    }
    if (starPattern < 0) return false;
    pi = starPattern;
    ti = ++starText;
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}
