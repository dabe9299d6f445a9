/**
 * Integration: the same commands sent to a plain redis-server and to a cluster's leader get the
 * same replies byte for byte (tests/integration/differential_corpus.ts) in RESP2, in RESP3, each
 * inside its own MULTI/EXEC and through a follower's proxy, and leave every node with the same
 * data.
 */
import assert from "node:assert/strict";
import { RespClient } from "../helpers/resp_client.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { differentialCorpus, sessionCorpus } from "./differential_corpus.ts";
import { fuzzSteps } from "./differential_fuzz.ts";
import { seededRandom } from "../../src/raft/prng.ts";

/** Sends each command (or group of commands) to both; describes every reply that differs. */
async function compare(
  reference: RespClient,
  client: RespClient,
  groups: (string | Uint8Array)[][][],
  label: string,
): Promise<string[]> {
  const differences: string[] = [];
  for (const group of groups) {
    for (const command of group) {
      const expected = withoutClientId(await reference.callRaw(...command));
      const actual = withoutClientId(await client.callRaw(...command));
      if (actual !== expected) {
        differences.push(
          `${label}: ${command.map(String).join(" ")}\n  redis: ${JSON.stringify(expected)}\n` +
            `  ours:  ${JSON.stringify(actual)}`,
        );
      }
    }
  }
  return differences;
}

/** HELLO's reply with its client id (which differs between any two servers) masked. */
function withoutClientId(raw: string): string {
  return raw.replace(/(\$2\r\nid\r\n:)\d+/, "$1N");
}

/** A bulk reply's bytes from its raw latin1 rendering. */
function bulkBytes(raw: string): Uint8Array {
  const body = raw.slice(raw.indexOf("\r\n") + 2, -2);
  return Uint8Array.from(body, (c) => c.charCodeAt(0));
}

/** A follower's proxy refuses them (a wait would hold the proxy's one connection). */
const blockingCommands = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
]);

/** Commands that make no sense inside a transaction of their own. */
const transactionCommands = new Set(["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]);

Deno.test("data commands answer as plain Redis 7.0 does (RESP2, RESP3, in MULTI), and every node ends with the same data", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3, ["--follower-proxy"]);
  try {
    const reference = await RespClient.connect(plain.port);
    const client = await (await cluster.leader()).client();
    const reset = [["FLUSHALL"], ["FUNCTION", "FLUSH"], ["SCRIPT", "FLUSH"]];
    const differences = await compare(
      reference,
      client,
      sessionCorpus.map((command) => [command]),
      "session",
    );
    // The same in RESP3, on new connections (the corpus sets a name, tracking and more).
    const reference3 = await RespClient.connect(plain.port);
    const client3 = await (await cluster.leader()).client();
    differences.push(
      ...await compare(
        reference3,
        client3,
        [[["HELLO", "3"]], ...sessionCorpus.map((command) => [command])],
        "session RESP3",
      ),
    );
    reference3.close();
    client3.close();
    differences.push(...await compare(reference, client, [reset], "reset"));
    differences.push(
      ...await compare(reference, client, differentialCorpus.map((command) => [command]), "RESP2"),
    );

    // RESTORE with a relative TTL, of a payload plain Redis dumped.
    const payload = bulkBytes(await reference.callRaw("DUMP", "h1"));
    differences.push(
      ...await compare(reference, client, [[
        ["RESTORE", "rs1", "100000", payload],
        ["TTL", "rs1"],
        ["RESTORE", "rs1", "100000", payload],
        ["RESTORE", "rs1", "0", payload, "REPLACE"],
        ["TTL", "rs1"],
        ["RESTORE", "rs2", "4102444800000", payload, "ABSTTL"],
        ["PEXPIRETIME", "rs2"],
        ["HGETALL", "rs2"],
        ["RESTORE", "rs3", "100", "not a payload"],
      ]], "RESTORE"),
    );

    differences.push(...await compare(reference, client, [reset], "reset"));
    differences.push(
      ...await compare(
        reference,
        client,
        [[["HELLO", "3"]], ...differentialCorpus.map((command) => [command])],
        "RESP3",
      ),
    );
    differences.push(...await compare(reference, client, [[["HELLO", "2"]], reset], "reset"));
    differences.push(
      ...await compare(
        reference,
        client,
        differentialCorpus.filter((command) => !transactionCommands.has(command[0]))
          .map((command) => [["MULTI"], command, ["EXEC"]]),
        "MULTI",
      ),
    );
    // Through a follower's proxy (which forwards neither blocking commands nor WATCH).
    differences.push(...await compare(reference, client, [reset], "reset"));
    const leader = await cluster.leader();
    const follower = await cluster.nodes.find((node) => node !== leader)!.client();
    differences.push(
      ...await compare(
        reference,
        follower,
        differentialCorpus.filter((command) => !blockingCommands.has(command[0]))
          .map((command) => [command]),
        "proxy",
      ),
    );
    follower.close();
    reference.close();
    client.close();
    assert.deepEqual(differences, [], differences.join("\n"));
    const [index] = await cluster.waitConverged();
    assert.ok(index > differentialCorpus.length, `applied index ${index}`);
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});

Deno.test("random command sequences answer as plain Redis 7.0 does, and every node ends with the same data", async () => {
  const seed = Number(Deno.env.get("RAFT_FUZZ_SEED") ?? "1");
  const stepCount = Number(Deno.env.get("RAFT_FUZZ_STEPS") ?? "1500");
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3);
  try {
    const reference = await RespClient.connect(plain.port);
    const client = await (await cluster.leader()).client();
    const protocol = Deno.env.get("RAFT_FUZZ_RESP") ?? "2";
    const differences = await compare(
      reference,
      client,
      [[["HELLO", protocol]], ...fuzzSteps(seededRandom(seed), stepCount)],
      `seed ${seed}`,
    );
    reference.close();
    client.close();
    assert.deepEqual(differences.slice(0, 10), [], differences.slice(0, 10).join("\n"));
    await cluster.waitConverged();
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});
