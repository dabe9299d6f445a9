/**
 * @module
 * Entry point: parse flags, start the node (redis child, log, Raft) and serve clients and peers
 * on `--addr`. SIGINT, SIGTERM and SIGHUP stop everything cleanly, child included.
 */
import { FlagError, parseCli } from "./config/cli_flags.ts";
import { ClusterNode } from "./node/cluster_node.ts";
import { Logger } from "./node/logger.ts";
import { ClientListener } from "./server/client_listener.ts";
import { CommandRouter } from "./server/command_router.ts";
import { ClientRegistry } from "./server/client_registry.ts";
import { adjustOpenFilesLimit } from "./server/open_files_limit.ts";

async function main(argv: string[]): Promise<number> {
  let cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    if (error instanceof FlagError) {
      console.error(`redisraft: ${error.message} (see --help)`);
      return 2;
    }
    throw error;
  }
  if (cli.kind !== "run") {
    console.log(cli.text);
    return 0;
  }
  const config = cli.config;
  const log = new Logger(config.logLevel);
  const descriptors = adjustOpenFilesLimit(
    config.clientsMaxCount,
    config.openFilesReservedCount,
    log,
  );
  config.clientsMaxCount = descriptors.clientsMaxCount;
  const sessions = new ClientRegistry(descriptors.descriptorsMaxCount);
  const node = new ClusterNode(config, log, sessions);
  const colon = config.addr.lastIndexOf(":");
  let listener: ClientListener;
  try {
    await node.start();
    listener = new ClientListener(
      config.addr.slice(0, colon),
      Number(config.addr.slice(colon + 1)),
      new CommandRouter(node, sessions, {
        trackingTableMaxKeys: config.trackingTableMaxKeys,
        clientReplyBufferMaxBytes: config.clientReplyBufferMaxBytes,
        reopenDelayMs: config.trackingReopenDelayMs,
      }),
      config,
      sessions,
      log,
    );
  } catch (error) {
    log.warning(`cannot start: ${(error as Error).message}`);
    await node.stop();
    return 1;
  }
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      log.notice(`${signal}: shutting down`);
      listener.close();
      await node.stop();
    })();
  };
  node.shutdownProcess = stop;
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  // A closed terminal: stop as for SIGTERM, child included (the default would orphan it).
  Deno.addSignalListener("SIGHUP", () => stop("SIGHUP"));
  log.notice(`redisraft listening on ${config.addr}, data in ${config.dir}, state ${node.state}`);
  await listener.serve();
  // Closing the listener ends serve() at once: the exit waits for the node's stop (its redis
  // child stopped and reaped, its log closed), or the child outlives the node.
  await stopping;
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
