/**
 * Integration: the same commands sent to a plain redis-server and to a cluster's leader get the
 * same replies byte for byte (tests/integration/differential_corpus.ts), and leave every node
 * with the same data.
 */
import assert from "node:assert/strict";
import { RespClient } from "../helpers/resp_client.ts";
import { startPlainRedis } from "../helpers/plain_redis.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import { differentialCorpus } from "./differential_corpus.ts";

Deno.test("data commands answer as plain Redis 7.0 does, and every node ends with the same data", async () => {
  const plain = await startPlainRedis([]);
  const cluster = await TestCluster.start(3);
  try {
    const reference = await RespClient.connect(plain.port);
    const client = await (await cluster.leader()).client();
    const differences: string[] = [];
    for (const command of differentialCorpus) {
      const expected = await reference.callRaw(...command);
      const actual = await client.callRaw(...command);
      if (actual !== expected) {
        differences.push(
          `${command.join(" ")}\n  redis: ${JSON.stringify(expected)}\n  ours:  ${
            JSON.stringify(actual)
          }`,
        );
      }
    }
    reference.close();
    client.close();
    assert.deepEqual(differences, [], differences.join("\n"));
    const [index] = await cluster.waitConverged();
    assert.ok(index > differentialCorpus.length / 2, `applied index ${index}`);
  } finally {
    await cluster.destroy();
    await plain.stop();
  }
});
