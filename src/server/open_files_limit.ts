/**
 * @module
 * The process's open-files limit against the clients it may serve, as redis-server's
 * `adjustOpenFilesLimit` does: every client connection takes a descriptor, a subscribed one a
 * second (its own connection to the redis child), and the node needs some of its own (log
 * segments, snapshots, peers, its redis child). At start the node raises its limit to cover
 * `--clients-max-count` clients, all subscribed, plus that reserve where the system allows; where
 * it does not, it serves fewer clients (INFO's `maxclients`) and says so, as Redis does, and
 * keeps its clients' connections and subscriptions together within what the limit leaves
 * (see ClientRegistry), rather than fail to open its log once the descriptors run out.
 */

export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

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
  return Math.max(1, Math.min(clientsMaxCount, softLimit - reservedCount));
}

/** What the open-files limit leaves the node's clients. */
export interface ClientDescriptors {
  /** INFO's maxclients: connections at once. */
  clientsMaxCount: number;
  /** Connections and subscribed clients' connections to the child together. */
  descriptorsMaxCount: number;
}

/**
 * Raises the limit for `clientsMaxCount` clients, each of them subscribed, and `reservedCount`
 * descriptors of the node's own; returns what it leaves the clients, after saying (as Redis does)
 * what it changed.
 */
export function adjustOpenFilesLimit(
  clientsMaxCount: number,
  reservedCount: number,
  log: {
    verbose(message: string): void;
    notice(message: string): void;
    warning(message: string): void;
  },
): ClientDescriptors {
  const wanted = 2 * clientsMaxCount + reservedCount;
  const before = readOpenFilesLimit();
  if (before === null || before.soft >= wanted) {
    return { clientsMaxCount, descriptorsMaxCount: Infinity };
  }
  const after = raiseOpenFilesLimit(before, wanted) ?? before;
  if (after.soft >= wanted) {
    log.notice(
      `Increased maximum number of open files to ${wanted} (it was originally set to ${before.soft}).`,
    );
    return { clientsMaxCount, descriptorsMaxCount: Infinity };
  }
  const clients = clientsUnderLimit(clientsMaxCount, after.soft, reservedCount);
  const descriptorsMaxCount = Math.max(clients, after.soft - reservedCount);
  if (clients < clientsMaxCount) {
    log.warning(
      `You requested maxclients of ${clientsMaxCount} requiring at least ` +
        `${clientsMaxCount + reservedCount} max file descriptors. Current maximum open files is ` +
        `${after.soft}. maxclients has been reduced to ${clients} to compensate for low ulimit. ` +
        "If you need higher maxclients increase 'ulimit -n'.",
    );
  }
  // Said aloud only with the warning: a limit short of all clients subscribed is the common case.
  (clients < clientsMaxCount ? log.notice : log.verbose).call(
    log,
    `Maximum open files is ${after.soft}: the ${clients} clients' connections and subscriptions ` +
      `share ${descriptorsMaxCount} descriptors (a subscribed client holds two)`,
  );
  return { clientsMaxCount: clients, descriptorsMaxCount };
}
