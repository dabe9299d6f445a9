/**
 * Integration: no command of Redis's table, with any of a few simple argument lists, can stop a
 * cluster from serving. Each command and subcommand the child lists (`COMMAND`) is sent with
 * each argument list on a connection of its own, alone and inside MULTI/EXEC; whatever it answers, a script write and a read
 * must still work right after, and every node must end with the same data. (`SCRIPT DEBUG yes`
 * once went through the log and left every child unable to answer the next EVAL.)
 */
import assert from "node:assert/strict";
import { encodeCommand } from "../../src/resp/mod.ts";
import { concatBytes } from "../../src/resp/bytes.ts";
import { type Reply, RespClient } from "../helpers/resp_client.ts";
import { TestCluster } from "../helpers/test_cluster.ts";
import type { NodeProcess } from "../helpers/node_process.ts";

/** Argument lists tried for every command (a blocking one waits a second at most). */
const argumentLists: string[][] = [[], ["x"], ["yes"], ["sync"], ["x", "y"], ["x", "1"], [
  "1",
  "x",
  "y",
]];

/** Longest a command's reply may take (a blocking command's second included). */
const replyWaitMs = 3000;
/** Longest the write and read after each command may take. */
const healthWaitMs = 10_000;

/** Command and subcommand names from COMMAND's reply (`config|get` as ["CONFIG", "GET"]). */
function commandNames(table: Reply): string[][] {
  const names: string[][] = [];
  for (const entry of table as Reply[][]) {
    const name = String(entry[0]).toUpperCase();
    names.push([name]);
    for (const sub of (entry[9] as Reply[][] | undefined) ?? []) {
      names.push(String(sub[0]).toUpperCase().split("|"));
    }
  }
  return names;
}

/** Sends `command`, alone or inside MULTI/EXEC; its last reply, "closed" or "no reply". */
async function tryCommand(port: number, command: string[], inMulti: boolean): Promise<string> {
  const client = await RespClient.connect(port);
  try {
    const commands = inMulti ? [["MULTI"], command, ["EXEC"]] : [command];
    await client.sendRaw(concatBytes(commands.map((c) => encodeCommand(c))));
    let reply = "";
    for (let i = 0; i < commands.length; i++) reply = await client.readRaw(replyWaitMs);
    return reply;
  } catch (error) {
    return /closed/.test((error as Error).message) ? "closed" : "no reply";
  } finally {
    client.close();
  }
}

/**
 * Sends every command (but SHUTDOWN, which stops the node as in Redis) with every argument list
 * to the node `target` picks, then writes and reads through it; throws on the first failure.
 */
async function sweep(cluster: TestCluster, target: () => Promise<NodeProcess>): Promise<void> {
  const admin = await (await cluster.leader()).client();
  const names = commandNames(await admin.call("COMMAND"));
  admin.close();
  assert.ok(names.length > 300, `${names.length} commands and subcommands`);
  const silent: string[] = [];
  let marks = 0;
  for (const name of names.filter(([first]) => first !== "SHUTDOWN")) {
    for (const args of argumentLists) {
      for (const inMulti of [false, true]) {
        const command = [...name, ...args];
        if ((await tryCommand((await target()).port, command, inMulti)) === "no reply") {
          silent.push(`${inMulti ? "in MULTI: " : ""}${command.join(" ")}`);
        }
      }
    }
    // The cluster still writes through a script, and reads, whatever the command did.
    const client = await (await target()).client();
    const mark = String(++marks);
    try {
      await client.sendRaw(
        encodeCommand(["EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", "sweep", mark]),
      );
      const wrote = await client.read(healthWaitMs).catch((error) => String(error));
      assert.equal(wrote, "OK", `the write after ${name.join(" ")}`);
      await client.sendRaw(encodeCommand(["GET", "sweep"]));
      assert.equal(await client.read(healthWaitMs), mark, `the read after ${name.join(" ")}`);
    } finally {
      client.close();
    }
  }
  // Only a subscription may keep a client waiting (a blocking command's second is within).
  assert.deepEqual(silent.filter((c) => !/^(SUBSCRIBE|PSUBSCRIBE|SSUBSCRIBE)/.test(c)), []);
  for (const node of cluster.nodes) assert.doesNotMatch(await node.log(), /FATAL/);
  await cluster.waitConverged();
}

Deno.test("no command, with simple arguments, stops the cluster serving", async () => {
  const cluster = await TestCluster.start(3);
  try {
    await sweep(cluster, () => cluster.leader());
  } finally {
    await cluster.destroy();
  }
});

Deno.test("no command sent through a follower's proxy stops the cluster serving", async () => {
  const cluster = await TestCluster.start(3, ["--follower-proxy"]);
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    await sweep(cluster, () => Promise.resolve(follower));
  } finally {
    await cluster.destroy();
  }
});
