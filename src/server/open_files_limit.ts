/**
 * @module
 * The process's open-files limit against the clients it may serve, as redis-server's
 * `adjustOpenFilesLimit` does: every client may take two descriptors (its connection and, once it
 * subscribes, its own connection to the redis child), and the node needs some of its own (log
 * segments, snapshots, peers, its redis child). At start the node raises its limit to cover
 * `--clients-max-count` clients plus that reserve where the system allows; where it does not, it
 * serves fewer clients (INFO's `maxclients`) and says so, rather than fail to accept a
 * connection, or to open its log, once the descriptors run out.
 */

export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

/** A client's connection, and its connection to the redis child while it is subscribed. */
export const DESCRIPTORS_PER_CLIENT = 2;

/** Linux's RLIMIT_NOFILE. */
const rlimitNofile = 7;

/** The "Max open files" line of /proc/<pid>/limits ("unlimited" is Infinity); null if absent. */
export function parseOpenFilesLimit(limitsText: string): OpenFilesLimit | null {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!match) return null;
  const value = (text: string) => text === "unlimited" ? Infinity : Number(text);
  return { soft: value(match[1]), hard: value(match[2]) };
}

/** This process's limit; null where /proc does not tell. */
export function readOpenFilesLimit(): OpenFilesLimit | null {
  try {
    return parseOpenFilesLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return null;
  }
}

/** setrlimit(RLIMIT_NOFILE) through libc; false where it fails or cannot be called. */
function setOpenFilesLimit(soft: number, hard: number): boolean {
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", {
      setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    });
  } catch {
    return false;
  }
  try {
    const limit = new BigUint64Array([BigInt(soft), BigInt(hard)]);
    return libc.symbols.setrlimit(rlimitNofile, new Uint8Array(limit.buffer)) === 0;
  } finally {
    libc.close();
  }
}

/**
 * Raises the soft limit from `current` to `wanted`: with the hard limit too where the process
 * may (root), else up to the hard limit. Returns the limit in force afterwards.
 */
function raiseOpenFilesLimit(current: OpenFilesLimit, wanted: number): OpenFilesLimit | null {
  if (!setOpenFilesLimit(wanted, Math.max(wanted, current.hard)) && current.hard > current.soft) {
    setOpenFilesLimit(Math.min(wanted, current.hard), current.hard);
  }
  return readOpenFilesLimit();
}

/** Clients that fit under `softLimit` descriptors with `reservedCount` kept for the node. */
export function clientsUnderLimit(
  clientsMaxCount: number,
  softLimit: number,
  reservedCount: number,
): number {
  const fitting = Math.floor((softLimit - reservedCount) / DESCRIPTORS_PER_CLIENT);
  return Math.max(1, Math.min(clientsMaxCount, fitting));
}

/**
 * Raises the limit for `clientsMaxCount` clients and `reservedCount` descriptors of the node's
 * own; returns how many clients it can serve, after saying (as Redis does) what it changed.
 */
export function adjustOpenFilesLimit(
  clientsMaxCount: number,
  reservedCount: number,
  log: { notice(message: string): void; warning(message: string): void },
): number {
  const wanted = clientsMaxCount * DESCRIPTORS_PER_CLIENT + reservedCount;
  const before = readOpenFilesLimit();
  if (before === null || before.soft >= wanted) return clientsMaxCount;
  const after = raiseOpenFilesLimit(before, wanted) ?? before;
  if (after.soft >= wanted) {
    log.notice(
      `Increased maximum number of open files to ${wanted} (it was originally set to ${before.soft}).`,
    );
    return clientsMaxCount;
  }
  const clients = clientsUnderLimit(clientsMaxCount, after.soft, reservedCount);
  log.warning(
    `You requested maxclients of ${clientsMaxCount} requiring at least ${wanted} max file ` +
      `descriptors. Current maximum open files is ${after.soft}. maxclients has been reduced to ` +
      `${clients} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.`,
  );
  return clients;
}
