/**
 * @module
 * Splits an inline request line into arguments exactly like Redis's
 * `sdssplitargs`: blanks separate tokens, `"..."` understands `\xHH`, `\n`,
 * `\r`, `\t`, `\b`, `\a` and `\<any>`, `'...'` understands only `\'`, and a
 * closing quote must be followed by a blank or the end of the line.
 */

let scratch = new Uint8Array(256);

/** C `isspace`: space, \t, \n, \v, \f, \r. */
function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

function isHexDigit(b: number): boolean {
  return (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70);
}

function hexValue(b: number): number {
  return b <= 57 ? b - 48 : (b | 32) - 87;
}

/**
 * Arguments of `line[from..to)` (the line holds no NUL and no final newline).
 * Unquoted arguments are views of `line`; quoted ones are fresh arrays.
 * Returns null on unbalanced quotes, as `sdssplitargs` does.
 */
export function splitInlineArgs(line: Uint8Array, from: number, to: number): Uint8Array[] | null {
  const args: Uint8Array[] = [];
  let p = from;
  for (;;) {
    while (p < to && isSpace(line[p])) p++;
    if (p >= to) return args;
    // Fast path: a token without quotes is one slice.
    let q = p;
    let b = 0;
    while (q < to) {
      b = line[q];
      if (b === 32 || b === 10 || b === 13 || b === 9 || b === 34 || b === 39) break;
      q++;
    }
    if (q === to || (b !== 34 && b !== 39)) {
      args.push(new Uint8Array(line.buffer, line.byteOffset + p, q - p));
      p = q;
      continue;
    }
    const end = quotedToken(line, p, q, to);
    if (end < 0) return null;
    args.push(scratch.slice(0, scratchLength));
    p = end;
  }
}

let scratchLength = 0;

function put(b: number): void {
  if (scratchLength === scratch.length) {
    const grown = new Uint8Array(scratch.length * 2);
    grown.set(scratch);
    scratch = grown;
  }
  scratch[scratchLength++] = b;
}

/**
 * Decodes a token starting at `start` whose first quote is at `quoteAt` into the
 * scratch buffer. Returns the index after the token, or -1 on unbalanced quotes.
 */
function quotedToken(line: Uint8Array, start: number, quoteAt: number, to: number): number {
  scratchLength = 0;
  for (let i = start; i < quoteAt; i++) put(line[i]);
  let p = quoteAt;
  let inDouble = false;
  let inSingle = false;
  for (;;) {
    // `c` and `next` are 0 at the end of the line, like the C string terminator.
    const c = p < to ? line[p] : 0;
    const next = p + 1 < to ? line[p + 1] : 0;
    if (inDouble) {
      if (
        c === 92 && next === 120 && p + 3 < to && isHexDigit(line[p + 2]) &&
        isHexDigit(line[p + 3])
      ) {
        put(hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]));
        p += 3;
      } else if (c === 92 && next !== 0) {
        p++;
        put(unescape(next));
      } else if (c === 34) {
        if (next !== 0 && !isSpace(next)) return -1;
        return p + 1;
      } else if (c === 0) {
        return -1;
      } else {
        put(c);
      }
    } else if (inSingle) {
      if (c === 92 && next === 39) {
        p++;
        put(39);
      } else if (c === 39) {
        if (next !== 0 && !isSpace(next)) return -1;
        return p + 1;
      } else if (c === 0) {
        return -1;
      } else {
        put(c);
      }
    } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0) {
      return c === 0 ? p : p + 1;
    } else if (c === 34) {
      inDouble = true;
    } else if (c === 39) {
      inSingle = true;
    } else {
      put(c);
    }
    if (p < to) p++;
  }
}

function unescape(b: number): number {
  switch (b) {
    case 110: // n
      return 10;
    case 114: // r
      return 13;
    case 116: // t
      return 9;
    case 98: // b
      return 8;
    case 97: // a
      return 7;
    default:
      return b;
  }
}
