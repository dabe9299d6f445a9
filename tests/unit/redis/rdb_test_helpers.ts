/**
 * Real redis-server children in temp directories for the RDB snapshot tests, and a small
 * command helper over the pipelined connection.
 *
 * @module
 */

import { join } from "node:path";
import { Logger } from "../../../src/node/logger.ts";
import { PipelinedConnection } from "../../../src/redis/pipelined_connection.ts";
import { RedisChild } from "../../../src/redis/redis_child.ts";
import { decodeReply, type ReplyValue } from "../../../src/resp/reply_decoder.ts";
import { encodeCommand } from "../../../src/resp/reply_writer.ts";

export interface TestChild {
  readonly child: RedisChild;
  readonly dir: string;
  readonly rdbPath: string;
}

/** A stopped child owning `<root>/<name>`; `withChildren` stops it at the end. */
export function makeChild(root: string, name: string): TestChild {
  const dir = join(root, name);
  const child = new RedisChild({
    redisServer: "redis-server",
    dir,
    startTimeoutMs: 10_000,
  }, new Logger("warning"));
  return { child, dir, rdbPath: childRdbPath(child, dir) };
}

/** Runs `body` with a temp root; stops every child it made (by its own pid) afterwards. */
export async function withChildren(
  body: (make: (name: string) => TestChild, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redisraft-rdb-" });
  const made: TestChild[] = [];
  try {
    await body((name) => {
      const testChild = makeChild(root, name);
      made.push(testChild);
      return testChild;
    }, root);
  } finally {
    for (const { child } of made) await child.stop();
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * The file the child loads at start and writes on BGSAVE: `child.rdbPath` where RedisChild
 * has it, else the `empty.rdb` it used to default to.
 */
function childRdbPath(child: RedisChild, dir: string): string {
  return (child as { rdbPath?: string }).rdbPath ?? join(dir, "empty.rdb");
}

export async function command(
  connection: PipelinedConnection,
  ...args: string[]
): Promise<ReplyValue> {
  return decodeReply(await connection.request(encodeCommand(args)));
}

export function connect(child: RedisChild): Promise<PipelinedConnection> {
  return PipelinedConnection.connect(child.socketPath);
}
