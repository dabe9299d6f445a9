/** Unit: BCAST prefix overlaps found as Redis finds them, without comparing every pair. */
import assert from "node:assert/strict";
import { compareBytes, firstOverlap, prefixOf } from "../../../src/server/prefix_overlap.ts";
import { seededRandom } from "../../../src/raft/prng.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.length <= key.length && prefix.every((b, i) => key[i] === b);
}

/** Redis 7.0's checkPrefixCollisionsOrReply, pair by pair, as a string for comparison. */
function redisOverlap(existing: Uint8Array[], added: Uint8Array[]): string {
  const overlaps = (a: Uint8Array, b: Uint8Array) => startsWith(a, b) || startsWith(b, a);
  const sortedExisting = [...existing].sort(compareBytes);
  for (let i = 0; i < added.length; i++) {
    const taken = sortedExisting.find((e) => overlaps(e, added[i]));
    if (taken) return `${dec.decode(added[i])} existing ${dec.decode(taken)}`;
    for (let j = i + 1; j < added.length; j++) {
      if (overlaps(added[i], added[j])) {
        return `${dec.decode(added[i])} provided ${dec.decode(added[j])}`;
      }
    }
  }
  return "none";
}

function described(existing: Uint8Array[], added: Uint8Array[]): string {
  const found = firstOverlap([...existing].sort(compareBytes), added);
  if (!found) return "none";
  return "existing" in found
    ? `${dec.decode(found.prefix)} existing ${dec.decode(found.existing)}`
    : `${dec.decode(found.prefix)} provided ${dec.decode(found.provided)}`;
}

Deno.test("the first overlap is the one Redis names, over random prefix lists", () => {
  const random = seededRandom(7);
  const word = () => {
    let s = "";
    const length = Math.floor(random() * 4);
    for (let i = 0; i < length; i++) s += "ab"[Math.floor(random() * 2)];
    return enc.encode(s);
  };
  let overlapsSeen = 0;
  for (let round = 0; round < 3000; round++) {
    // Existing prefixes never overlap one another (they passed this check).
    const existing: Uint8Array[] = [];
    for (let k = Math.floor(random() * 4); k > 0; k--) {
      const candidate = word();
      if (candidate.length > 0 && redisOverlap(existing, [candidate]) === "none") {
        existing.push(candidate);
      }
    }
    const added = Array.from({ length: Math.floor(random() * 6) }, word);
    const expected = redisOverlap(existing, added);
    if (expected !== "none") overlapsSeen++;
    assert.equal(
      described(existing, added),
      expected,
      `${existing.map((b) => dec.decode(b))} + ${added.map((b) => dec.decode(b))}`,
    );
  }
  assert.ok(overlapsSeen > 1000 && overlapsSeen < 2900, `${overlapsSeen} rounds overlapped`);
});

Deno.test("the empty prefix (BCAST alone) overlaps every new one and matches every key", () => {
  const empty = new Uint8Array(0);
  assert.equal(described([empty, enc.encode("a")], [enc.encode("b")]), "b existing ");
  assert.equal(prefixOf([empty, enc.encode("a")], enc.encode("zz")), empty);
});

Deno.test("a key's prefix is found by binary search among many", () => {
  const prefixes = Array.from(
    { length: 50_000 },
    (_, i) => enc.encode(`p${String(i).padStart(5, "0")}:`),
  );
  const sorted = [...prefixes].sort(compareBytes);
  // 50,000 prefixes in one CLIENT TRACKING: pair by pair that is 1.25e9 comparisons.
  assert.equal(firstOverlap([], prefixes), undefined);
  assert.equal(dec.decode(prefixOf(sorted, enc.encode("p01234:key"))!), "p01234:");
  assert.equal(prefixOf(sorted, enc.encode("p01234")), undefined);
  assert.equal(prefixOf(sorted, enc.encode("q")), undefined);
  const late = [...prefixes, enc.encode("p49999:x")];
  assert.deepEqual(
    ((
      { prefix, ...rest },
    ) => [dec.decode(prefix), dec.decode((rest as { provided: Uint8Array }).provided)])(
      firstOverlap([], late)!,
    ),
    ["p49999:", "p49999:x"],
  );
  for (let i = 0; i < 1000; i++) {
    const key = enc.encode(`p${String(i * 50).padStart(5, "0")}${i % 2 ? ":k" : "k"}`);
    const brute = prefixes.find((p) => startsWith(key, p));
    assert.equal(prefixOf(sorted, key), brute);
  }
});
