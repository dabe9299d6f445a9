/**
 * @module
 * Routes each client request: transaction control (MULTI/EXEC/DISCARD/WATCH), the commands the
 * node answers itself, and data commands down the write, read or local path after the checks
 * Redis does (unknown command, arity) and the ones RedisRaft adds (cluster state, refused
 * commands).
 */
import {
  arityError,
  arityOk,
  type CommandInfo,
  subscribeNames,
  unknownCommandError,
} from "../redis/command_table.ts";
import { encodeCommand, encodeCommandParts, RequestParser } from "../resp/mod.ts";
import {
  encodeArrayHeader,
  encodeBulk,
  encodeError,
  encodeInteger,
  encodeSimple,
  encodeStringArray,
} from "./replies.ts";
import { encodeCommandPayload, encodePayload, PayloadKind } from "../node/entry_payload.ts";
import { isReplicatedConfigSet } from "../node/child_config.ts";
import type { ClientSession, CommandHandler } from "./client_session.ts";
import { Errors } from "./errors.ts";
import { refuseOverCapacity } from "./client_listener.ts";
import type { NodeApi } from "./node_api.ts";
import type { ReplySlot } from "./reply_queue.ts";
import { parseInteger, rewriteForDeterminism } from "./command_rewrite.ts";
import { parseRedisInteger } from "../resp/resp_integer.ts";
import { parseBlocking } from "../node/blocked_clients.ts";
import { binaryBytes, concatBytes, keyString, lowerAscii } from "../resp/bytes.ts";
import { ClientCommand, invalidClientName, validClientName } from "./client_command.ts";
import {
  Auth,
  helloWithClientId,
  noAuthCommandNames,
  parseHello,
  passwordMatches,
} from "./client_auth.ts";
import type { ClientRegistry } from "./client_registry.ts";
import { Subscriptions } from "./subscriptions.ts";
import { ClientTracking, type TrackingLimits } from "./client_tracking.ts";
import { trackedKeys } from "./tracked_keys.ts";
import { PeerProgressAck } from "./peer_progress_ack.ts";
import { monitorArgs, MonitorFeed } from "./monitor_feed.ts";

const decoder = new TextDecoder();
const OK = encodeSimple("OK");
const QUEUED = encodeSimple("QUEUED");
const PONG = encodeSimple("PONG");
const RESET = encodeSimple("RESET");
const NO_REPLY = new Uint8Array(0);
const encoder = new TextEncoder();
const RAFT_TXN = encoder.encode("RAFT.TXN");
/** RESP's "$<length>\r\n" and "\r\n" around an argument, at most. */
const argFramingBytes = 16;
const EVAL = encoder.encode("EVAL");
const EVAL_RO = encoder.encode("EVAL_RO");

/** WATCHed keys of a session and the applied index they are watched from. */
interface SessionWatch {
  index: number;
  keys: Map<string, Uint8Array>;
}

interface Transaction {
  commands: Uint8Array[][];
  failed: boolean;
  readOnly: boolean;
  /** Original texts of its EVAL/EVALSHA scripts, which every node remembers when it applies. */
  scripts: Uint8Array[];
  /** About what the queued commands take in its log entry. */
  bytes: number;
  /** The queued commands as monitors are shown them at EXEC (while some client monitors). */
  monitored?: string[];
}

/** Commands the router or the node answers without consulting the command table. */
export const nodeCommands = new Set([
  "info",
  "config",
  "cluster",
  "raft.cluster",
  "raft.node",
  "raft.debug",
  "raft.transfer_leader",
  "raft.timeout_now",
  "raft.nodeshutdown",
  "shutdown",
]); // deno-fmt-ignore

/** Commands that run at once inside MULTI rather than being queued. */
const runInMulti = new Set(["multi", "exec", "discard", "watch", "quit", "reset"]);

/** Redis's execCommandAbort: the transaction and its watches end; EXEC answers why. */
function execAbort(session: ClientSession, slot: ReplySlot, reason: string): void {
  delete session.state.txn;
  delete session.state.watch;
  slot.complete(encodeError(`EXECABORT Transaction discarded because of: ${reason}`));
}

export class CommandRouter implements CommandHandler {
  private readonly clientCommand: ClientCommand;
  /** CLIENT TRACKING: which client read which key, and the invalidations. */
  readonly tracking: ClientTracking;
  private readonly monitors: MonitorFeed;

  constructor(
    private readonly node: NodeApi,
    private readonly sessions: ClientRegistry,
    trackingLimits: TrackingLimits,
  ) {
    this.tracking = new ClientTracking(
      sessions,
      (sink) => node.openInvalidations(sink),
      trackingLimits,
    );
    node.useTrackingStats(() => this.tracking.stats());
    this.clientCommand = new ClientCommand(sessions, node, this.tracking);
    this.monitors = new MonitorFeed(trackingLimits.clientReplyBufferMaxBytes);
  }

  handle(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    // CLIENT REPLY OFF / SKIP: this command's reply is dropped (CLIENT REPLY ON undoes it).
    const replyMode = session.state.replyMode;
    if (replyMode !== undefined) {
      // Pub/sub confirmations are pushes, which Redis 7.0 sends whatever CLIENT REPLY says
      // (an arity error is not one).
      const name = lowerAscii(args[0]);
      const pushes = subscribeNames.has(name) && (args.length > 1 || name.includes("unsub"));
      if (!pushes) slot.silent = true;
      if (replyMode === "skip") delete session.state.replyMode;
    }
    if (this.monitors.active) this.dispatchMonitored(session, args, slot);
    else this.dispatch(session, args, slot);
    if (this.tracking.isTracking(session)) {
      this.tracking.commandDone(session, session.lastCommand, session.state.txn !== undefined);
    }
  }

  /**
   * Dispatch, then show the command to the monitors, as Redis does once a command has run: not
   * one refused before running (unknown, wrong arity, NOAUTH, ...), nor an admin command, nor a
   * queued one until its EXEC; internal RAFT.* traffic is not shown either.
   */
  private dispatchMonitored(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const name = lowerAscii(args[0]);
    const txn = session.state.txn as Transaction | undefined;
    const shown = this.monitorShows(session, name, args);
    this.dispatch(session, args, slot);
    if (!shown || (txn && !runInMulti.has(name))) return;
    if (name === "exec" && txn && !txn.failed) {
      for (const queued of txn.monitored ?? []) this.monitors.feed(session.remoteAddr, queued);
    }
    this.monitors.feed(session.remoteAddr, monitorArgs(args));
  }

  /** Whether a monitor sees this command if it runs (decided before it does). */
  private monitorShows(session: ClientSession, name: string, args: Uint8Array[]): boolean {
    if (session.state.overCapacity) return false; // refused: max number of clients
    if (!session.authenticated && this.node.requirepass && !noAuthCommandNames.has(name)) {
      return false;
    }
    if (
      session.state.pubsub !== undefined && session.replies.protocol === 2 &&
      this.subscribedContextError(name, args) !== null
    ) return false;
    const info = this.monitorable(name, args);
    return info !== null && !(session.state.monitor && touchesKeyspace(info));
  }

  /**
   * The command's table entry if a monitor may see it: known, right arity, not admin. The node's
   * own RAFT.* commands (the peers' messages among them) are not in Redis's table: not shown.
   */
  private monitorable(name: string, args: Uint8Array[]): CommandInfo | null {
    const info = this.resolve(name, args);
    if (typeof info === "string" || info.flags.has("admin")) return null;
    return info.route !== "refused" || name === "wait" ? info : null;
  }

  private dispatch(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const name = lowerAscii(args[0]);
    session.lastCommand = name;
    if (session.state.overCapacity) return this.overCapacity(session, name, args, slot);
    if (session.state.peerOnly && name !== "raft.msg" && name !== "raft.hello") {
      return refuseOverCapacity(session, slot);
    }
    if (!session.authenticated) {
      if (!this.node.requirepass) session.authenticated = true;
      else if (!noAuthCommandNames.has(name)) return slot.complete(encodeError(Auth.required));
    }
    // RESP3 lets a subscribed client run any command: messages arrive as push frames.
    if (session.state.pubsub !== undefined && session.replies.protocol === 2) {
      const refused = this.subscribedContextError(name, args);
      if (refused && name === "exec") return execAbort(session, slot, refused);
      if (refused) return slot.complete(encodeError(`ERR ${refused}`));
    }
    const txn = session.state.txn as Transaction | undefined;
    switch (name) {
      // Redis checks arity first: a wrong one inside MULTI flags the transaction, and EXEC's
      // ends it (EXECABORT with the reason).
      case "multi":
      case "discard":
        if (args.length === 1) break;
        if (txn) txn.failed = true;
        return slot.complete(encodeError(arityError(name)));
      case "exec":
        if (args.length === 1) break;
        return execAbort(session, slot, arityError("exec").slice("ERR ".length));
    }
    switch (name) {
      case "multi":
        if (txn) return slot.complete(encodeError(Errors.nestedMulti));
        session.state.txn = {
          commands: [],
          failed: false,
          readOnly: true,
          scripts: [],
          bytes: 0,
        } satisfies Transaction;
        return slot.complete(OK);
      case "exec": {
        if (!txn) return slot.complete(encodeError(Errors.execWithoutMulti));
        delete session.state.txn;
        const watch = session.state.watch as SessionWatch | undefined;
        delete session.state.watch;
        return this.exec(session, txn, slot, watch);
      }
      case "discard":
        if (!txn) return slot.complete(encodeError(Errors.discardWithoutMulti));
        delete session.state.txn;
        delete session.state.watch;
        return slot.complete(OK);
      case "watch":
        if (txn) return slot.complete(encodeError(Errors.watchInsideMulti));
        return this.watch(session, args, slot);
      case "unwatch":
        if (txn) break;
        if (args.length !== 1) return slot.complete(encodeError(arityError("unwatch")));
        delete session.state.watch;
        return slot.complete(OK);
      case "quit":
        slot.closeAfter = true;
        return slot.complete(OK);
      case "monitor":
        if (txn) break; // refused when queued: a transaction's client expects a reply each
        if (args.length !== 1) return slot.complete(encodeError(arityError(name)));
        if (session.state.monitor) return slot.complete(NO_REPLY); // as Redis: ignored
        session.state.monitor = true;
        this.monitors.add(session);
        return slot.complete(OK);
      case "reset":
        if (args.length !== 1) return slot.complete(encodeError(arityError("reset")));
        delete session.state.txn;
        delete session.state.watch;
        // As Redis: the name goes, and with a password the connection must AUTH again.
        session.name = "";
        session.authenticated = !this.node.requirepass;
        this.tracking.closed(session); // tracking off
        delete session.state.replyMode; // CLIENT REPLY ON, and RESET's own reply is sent
        delete session.state.replicaReads; // READWRITE
        delete session.state.monitor;
        this.monitors.delete(session);
        slot.silent = false;
        session.replies.protocol = 2;
        // A subscriber's RESET goes down its pub/sub connection, after the replies still due
        // there, and ends that session; the commands after it run in normal mode.
        if (!session.state.pubsub) return slot.complete(RESET);
        this.node.pubsub(session, encodeCommand(args), slot);
        delete session.state.pubsub;
        delete session.state.subscriptions;
        return;
    }
    if (name === "raft.msg") return this.peerMessage(session, args, slot);
    if (name === "raft.txn") return this.proxiedTransaction(session, args, slot);
    if (name === "raft.hello") return this.peerHello(session, args, slot);
    if (txn) return this.queue(session, txn, name, args, slot);
    const subscribed = session.state.pubsub !== undefined;
    if (subscribeNames.has(name) || (subscribed && (name === "ping" || name === "hello"))) {
      if (name === "hello") return this.hello(session, args, slot);
      const check = this.check(name, args);
      if (typeof check === "string") return slot.complete(encodeError(check));
      this.node.pubsub(session, encodeCommand(args), slot);
      if (session.state.pubsub && subscribeNames.has(name)) {
        const subscriptions =
          (session.state.subscriptions ??= new Subscriptions()) as Subscriptions;
        subscriptions.apply(name, args);
        // The last subscription gone: the commands after this one run in normal mode.
        if (subscriptions.total === 0) delete session.state.pubsub;
      }
      return;
    }
    if (name === "ping" && args.length <= 2) {
      return slot.complete(args.length === 1 ? PONG : encodeBulk(args[1]));
    }
    // The node's clock: the child's follows the log's entries (see native/raftclock.c).
    if (name === "time" && args.length === 1) return slot.complete(timeReply());
    if (name === "wait") return this.wait(session, args, slot);
    if (name === "readonly" || name === "readwrite") {
      return this.replicaReads(session, name, args, slot);
    }
    if (name === "config" && isReplicatedConfigSet(args)) {
      return this.childConfigSet(session, args, slot);
    }
    if (nodeCommands.has(name)) {
      return this.node.admin(session, name, args.map((a) => decoder.decode(a)), slot);
    }
    const check = this.check(name, args);
    if (typeof check === "string") return slot.complete(encodeError(check));
    const info = check;
    if (session.state.monitor && touchesKeyspace(info)) {
      return slot.complete(encodeError(Errors.monitorKeyspace));
    }
    if (info.route === "local") return this.local(session, name, args, slot);
    const route = this.node.dataCommandRoute(info.route === "read" ? "read" : "write", session);
    if (typeof route === "string") return slot.complete(encodeError(route));
    // Before the read reaches the child (here or through the leader): a change after it is named.
    if (info.flags.has("readonly") && this.tracking.isTracking(session)) {
      this.tracking.remember(session, trackedKeys(info, args));
    }
    if (route) {
      // A wait on the one pipelined connection to the leader would hold every proxied reply
      // behind it (and outlast the proxy's response timeout).
      if (info.route === "blocking") return slot.complete(encodeError(Errors.blockingThroughProxy));
      return this.node.proxy(route.proxyTo, encodeCommandParts(args), slot);
    }
    if (info.name.startsWith("script|") || name.startsWith("eval")) {
      const script = this.scriptCommand(info.name, args);
      if (script) {
        if (typeof script === "string") return slot.complete(encodeError(script));
        if ("bulk" in script) return slot.complete(script.bulk);
        if ("read" in script) return this.node.read(session, script.read, 1, slot);
        return this.node.write(session, script.payload, slot);
      }
    }
    switch (info.route) {
      case "write": {
        let rewritten = rewriteForDeterminism(name, args);
        const sandboxed = this.sandboxed(info.name, args);
        if (typeof sandboxed === "string") return slot.complete(encodeError(sandboxed));
        if (sandboxed) rewritten = sandboxed.args;
        return this.node.write(session, encodeCommandPayload(PayloadKind.Command, rewritten), slot);
      }
      case "read":
        return this.node.read(session, encodeCommandParts(args), 1, slot);
      case "blocking": {
        const call = parseBlocking(name, args);
        if (typeof call === "string") return slot.complete(encodeError(call));
        return this.node.write(session, encodeCommandPayload(PayloadKind.Blocking, args), slot);
      }
      default:
        return slot.complete(encodeError(Errors.notSupported));
    }
  }

  /**
   * READONLY / READWRITE, as on a Redis Cluster replica: a READONLY connection to a follower
   * reads the follower's own state (the guarantee of `--read-mode stale`) instead of being sent
   * to the leader; writes still are. On the leader it changes nothing.
   */
  private replicaReads(
    session: ClientSession,
    name: string,
    args: Uint8Array[],
    slot: ReplySlot,
  ): void {
    if (args.length !== 1) return slot.complete(encodeError(arityError(name)));
    if (name === "readonly") session.state.replicaReads = true;
    else delete session.state.replicaReads;
    slot.complete(OK);
  }

  /** A peer's bytes arrived: say so (see PeerProgressAck). */
  received(session: ClientSession, nowMs: number): void {
    (session.state.peerAck as PeerProgressAck | undefined)?.received(nowMs);
  }

  closed(session: ClientSession): void {
    (session.state.peerAck as PeerProgressAck | undefined)?.close();
    this.tracking.closed(session);
    this.monitors.delete(session);
    this.node.clientClosed(session);
  }

  /**
   * The sandboxed form of a script-carrying write: EVAL/EVALSHA become EVAL of the sandboxed text
   * (remembered for EVALSHA), FUNCTION LOAD gets the sandbox prologue. Returns the original
   * text too (EVAL entries carry it), an error, or null for other commands.
   */
  private sandboxed(
    fullName: string,
    args: Uint8Array[],
  ): { args: Uint8Array[]; text?: string } | string | null {
    if (fullName === "eval" || fullName === "evalsha") {
      const text = fullName === "eval"
        ? keyString(args[1])
        : this.node.scripts.get(decoder.decode(args[1]));
      if (text === undefined) return Errors.noScript;
      this.node.scripts.add(text);
      return { args: [EVAL, binaryBytes(this.node.sandbox.wrap(text)), ...args.slice(2)], text };
    }
    if (fullName === "function|load") {
      const code = binaryBytes(this.node.sandbox.wrap(keyString(args[args.length - 1])));
      return { args: [...args.slice(0, -1), code] };
    }
    return null;
  }

  /**
   * EVAL/EVALSHA (sandboxed, replicated with their text), SCRIPT LOAD/FLUSH/EXISTS, and the
   * read-only variants; null for other commands. `fullName` is `name` or `name|subcommand`.
   */
  private scriptCommand(
    fullName: string,
    args: Uint8Array[],
  ): string | { payload: Uint8Array } | { read: Uint8Array } | { bulk: Uint8Array } | null {
    const scripts = this.node.scripts;
    const body = (): Uint8Array | undefined => {
      if (!fullName.startsWith("evalsha")) return args[1];
      const text = scripts.get(decoder.decode(args[1]));
      return text === undefined ? undefined : binaryBytes(text);
    };
    switch (fullName) {
      case "eval":
      case "evalsha": {
        const sandboxed = this.sandboxed(fullName, args)!;
        if (typeof sandboxed === "string") return sandboxed;
        const command = encodeCommand(sandboxed.args);
        return {
          payload: encodePayload(
            PayloadKind.Script,
            1,
            command,
            undefined,
            binaryBytes(sandboxed.text!),
          ),
        };
      }
      case "eval_ro":
      case "evalsha_ro": {
        const text = body();
        if (text === undefined) return Errors.noScript;
        return { read: encodeCommand([EVAL_RO, text, ...args.slice(2)]) };
      }
      case "script|load": {
        scripts.add(keyString(args[2]));
        return {
          payload: encodePayload(PayloadKind.Script, 1, new Uint8Array(0), undefined, args[2]),
        };
      }
      case "script|flush":
        return { payload: encodePayload(PayloadKind.ScriptFlush, 1, encodeCommand(args)) };
      case "script|exists": {
        const found = args.slice(2).map((sha) =>
          encodeInteger(scripts.get(decoder.decode(sha)) ? 1 : 0)
        );
        return { bulk: concatBytes([encodeArrayHeader(found.length), ...found]) };
      }
    }
    return null;
  }

  /**
   * RAFT.TXN <command>...: a transaction forwarded by a follower proxy, each argument one
   * RESP-encoded command; run as MULTI ... EXEC on this connection.
   */
  private proxiedTransaction(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (session.state.txn) return slot.complete(encodeError(Errors.nestedMulti));
    const txn: Transaction = { commands: [], failed: false, readOnly: true, scripts: [], bytes: 0 };
    for (const encoded of args.slice(1)) {
      const parser = new RequestParser();
      parser.push(encoded);
      let command: Uint8Array[] | null = null;
      try {
        command = parser.next();
      } catch { /* malformed: refused below */ }
      if (!command || parser.next() !== null) {
        return slot.complete(encodeError("ERR invalid argument"));
      }
      const queued = this.queueCheck(txn, lowerAscii(command[0]), command);
      if (queued) return slot.complete(encodeError(Errors.execAbort));
    }
    this.exec(session, txn, slot);
  }

  /**
   * The first command on a connection accepted beyond maxclients: only a peer's RAFT.HELLO keeps
   * it (see ClientListener); anything else gets Redis's max-clients error and the connection
   * closes.
   */
  private overCapacity(
    session: ClientSession,
    name: string,
    args: Uint8Array[],
    slot: ReplySlot,
  ): void {
    delete session.state.overCapacity;
    // Only a member's link: anyone may say RAFT.HELLO, and a connection let in here carries
    // peer messages only.
    const id = args.length >= 3 ? Number(decoder.decode(args[1])) : NaN;
    if (name !== "raft.hello" || !this.node.isMember(id)) return refuseOverCapacity(session, slot);
    // The reply is written in a later microtask: a hello that failed closes the connection too.
    slot.closeAfter = true;
    this.peerHello(session, args, slot);
    if (session.state.peerId !== undefined) {
      slot.closeAfter = false;
      session.state.peerOnly = true;
    }
  }

  /** RAFT.HELLO <node id> <addr> [password]: this connection carries a peer's messages. */
  private peerHello(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (args.length < 3 || args.length > 4) {
      return slot.complete(encodeError("ERR wrong number of arguments for 'raft.hello' command"));
    }
    const password = this.node.clusterPassword;
    if (password && (args.length < 4 || decoder.decode(args[3]) !== password)) {
      return slot.complete(encodeError("WRONGPASS invalid cluster password"));
    }
    const id = Number(decoder.decode(args[1]));
    if (!Number.isInteger(id) || id <= 0) {
      return slot.complete(encodeError("ERR invalid source node id"));
    }
    session.state.peerId = id;
    session.peer = true;
    session.state.peerAck ??= new PeerProgressAck(() => {
      if (session.isOpen) session.replies.take().complete(OK);
    }, performance.now());
    // A peer keeps one link to us: an older connection it said hello on is one it gave up, and
    // whatever it still carries (queued behind a slow link, resent by TCP) is stale by now.
    const older = [...this.sessions.all()].filter((other) =>
      other !== session && other.state.peerId === id
    );
    for (const other of older) other.close();
    this.node.peerHello(id, decoder.decode(args[2]));
    slot.complete(OK);
  }

  /** RAFT.MSG <binary message>: only on a connection that said RAFT.HELLO; answered only on error. */
  private peerMessage(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (session.state.peerId === undefined) {
      return slot.complete(
        encodeError("ERR RAFT.MSG is only accepted from peers after RAFT.HELLO"),
      );
    }
    if (args.length !== 2) {
      return slot.complete(encodeError("ERR wrong number of arguments for 'raft.msg' command"));
    }
    try {
      this.node.peerMessage(args[1]);
      slot.complete(NO_REPLY); // peers only read replies to learn of errors
    } catch (error) {
      slot.complete(encodeError(`ERR invalid message: ${(error as Error).message}`));
    }
  }

  /** Unknown command, arity and refused checks; returns the error text or the command. */
  private check(name: string, args: Uint8Array[]): CommandInfo | string {
    const info = this.resolve(name, args);
    if (typeof info === "string") return info;
    if (info.route === "refused") return Errors.notSupported;
    if (info.name === "xread" && hasBlockOption(args)) return Errors.xreadBlock;
    if (info.name === "xreadgroup" && hasBlockOption(args)) return Errors.xreadgroupBlock;
    if (deliveryClockNames.has(info.name) && !this.node.childHasClock) return Errors.noChildClock;
    return info;
  }

  /**
   * The command's table entry (its subcommand's), or Redis's error for an unknown command or
   * subcommand or a wrong number of arguments.
   */
  private resolve(name: string, args: Uint8Array[]): CommandInfo | string {
    const base = this.node.commands.lookup(name);
    if (!base) return unknownCommandError(args.map((a) => decoder.decode(a)));
    if (!arityOk(base.arity, args.length)) return arityError(name);
    let info = base;
    if (base.subcommands && args.length > 1) {
      const found = base.subcommands.get(lowerAscii(args[1]));
      if (!found) {
        return `ERR unknown subcommand '${
          decoder.decode(args[1]).slice(0, 128)
        }'. Try ${name.toUpperCase()} HELP.`;
      }
      if (!arityOk(found.arity, args.length)) return arityError(found.name);
      info = found;
    }
    return info;
  }

  /**
   * Why a RESP2 subscriber may not run `name` (Redis names a subcommand in full, `client|id`),
   * or null if it may.
   */
  private subscribedContextError(name: string, args: Uint8Array[]): string | null {
    if (subscribeNames.has(name) || name === "ping" || name === "quit" || name === "reset") {
      return null;
    }
    const info = this.node.commands.lookup(name, args.length > 1 ? lowerAscii(args[1]) : undefined);
    return `Can't execute '${
      info?.name ?? name
    }': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
  }

  private local(session: ClientSession, name: string, args: Uint8Array[], slot: ReplySlot): void {
    if (name === "select") {
      // Redis's string2ll (at most 20 characters: a huge argument is not parsed), then its int
      // range.
      const index = parseRedisInteger(args[1], 0, args[1].length);
      if (Number.isNaN(index)) {
        return slot.complete(encodeError("ERR value is not an integer or out of range"));
      }
      if (index < -(2 ** 31) || index >= 2 ** 31) {
        return slot.complete(encodeError(
          "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
      }
      return slot.complete(index === 0 ? OK : encodeError(Errors.dbIndexOutOfRange));
    }
    if (name === "client") return this.clientCommand.handle(session, args, slot);
    if (name === "auth" && this.node.requirepass) {
      const ok = passwordMatches(
        this.node.requirepass,
        args.length === 3 ? args[1] : undefined,
        args[args.length - 1],
      );
      if (ok) session.authenticated = true;
      return slot.complete(ok ? OK : encodeError(Auth.wrong));
    }
    if (name === "hello") return this.hello(session, args, slot);
    if (name === "lastsave") return slot.complete(encodeInteger(this.node.lastSaveTimeSec));
    this.node.local(encodeCommand(args), (frame) => slot.complete(frame), slot.protocol, slot);
  }

  /**
   * HELLO: authenticate, name the connection and choose its RESP version here; the child answers
   * with its server map, in which `id` becomes this connection's CLIENT ID (the child's is that
   * of an internal link). A subscribed client's HELLO goes down its pub/sub connection too, so
   * that the messages it receives change protocol with it.
   */
  private hello(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const hello = parseHello(args);
    if ("error" in hello) return slot.complete(encodeError(hello.error));
    if (hello.password !== undefined) {
      // With no requirepass, the default user takes any password, as in Redis; no other user
      // exists.
      const password = this.node.requirepass;
      const ok = password
        ? passwordMatches(password, hello.user, hello.password)
        : hello.user === undefined || decoder.decode(hello.user) === "default";
      if (!ok) return slot.complete(encodeError(Auth.wrong));
      session.authenticated = true;
    }
    if (!session.authenticated) return slot.complete(encodeError(Auth.helloFirst));
    if (hello.name !== undefined) {
      if (!validClientName(hello.name)) return slot.complete(encodeError(invalidClientName));
      session.name = hello.name;
    }
    if (hello.version) session.replies.protocol = hello.version;
    const protocol = session.replies.protocol;
    const command = encodeCommand(["HELLO", String(protocol)]);
    const answer = (reply: Uint8Array) => helloWithClientId(reply, session.id);
    if (session.state.pubsub) return this.node.pubsub(session, command, slot, answer);
    this.node.local(command, (reply) => slot.complete(answer(reply)), protocol, slot);
  }

  private queue(
    session: ClientSession,
    txn: Transaction,
    name: string,
    args: Uint8Array[],
    slot: ReplySlot,
  ): void {
    let error: string | null;
    if (session.state.monitor && isKeyspaceCommand(this.check(name, args))) {
      txn.failed = true;
      error = Errors.monitorKeyspace;
    } else {
      error = this.queueCheck(txn, name, args);
    }
    if (error === null && this.monitors.active && this.monitorable(name, args)) {
      (txn.monitored ??= []).push(monitorArgs(args));
    }
    if (error === null && this.tracking.isTracking(session)) {
      const info = this.check(name, args);
      if (typeof info !== "string" && info.flags.has("readonly")) {
        this.tracking.remember(session, trackedKeys(info, args));
      }
    }
    slot.complete(error ? encodeError(error) : QUEUED);
  }

  /** Queue a command into `txn`; returns the error (and marks the transaction failed) or null. */
  private queueCheck(txn: Transaction, name: string, args: Uint8Array[]): string | null {
    const fail = (error: string) => {
      txn.failed = true;
      return error;
    };
    // Its EXEC could not enter the log: no need to hold more of it (EXEC aborts).
    if (txn.bytes > this.node.entryMaxBytes) return fail(Errors.transactionTooLarge);
    for (const arg of args) txn.bytes += arg.length + argFramingBytes;
    if (txn.bytes > this.node.entryMaxBytes) {
      txn.commands = [];
      txn.scripts = [];
      return fail(Errors.transactionTooLarge);
    }
    if (nodeCommands.has(name)) return fail(Errors.notSupported);
    if (name === "monitor" && args.length === 1) return fail(Errors.monitorInMulti);
    if (name === "wait") return fail(`${Errors.notSupported} inside MULTI/EXEC`);
    const check = this.check(name, args);
    if (typeof check === "string") return fail(check);
    // A SUBSCRIBE in EXEC would put the child's apply connection itself in pub/sub mode.
    const local = check.route === "local" && name !== "ping" && name !== "echo" && name !== "time";
    if (local || check.route === "pubsub") return fail(`${Errors.notSupported} inside MULTI/EXEC`);
    let rewritten = check.route === "write" ? rewriteForDeterminism(name, args) : args;
    const sandboxed = this.sandboxed(check.name, args);
    if (sandboxed === Errors.noScript) {
      // As in Redis, an unknown script fails at EXEC, not the whole transaction: the children
      // know no script by its original SHA1, so each answers NOSCRIPT.
      txn.readOnly = false;
      txn.commands.push(ownedArgs(args));
      return null;
    }
    if (typeof sandboxed === "string") return fail(sandboxed);
    if (sandboxed) {
      rewritten = sandboxed.args;
      if (sandboxed.text !== undefined) {
        const text = binaryBytes(sandboxed.text);
        txn.scripts.push(text);
        txn.bytes += text.length;
      }
    }
    if (check.route !== "read" && name !== "ping" && name !== "echo") txn.readOnly = false;
    txn.commands.push(ownedArgs(rewritten));
    return null;
  }

  /** CONFIG SET of replicated child parameters: a write, applied by every node's child. */
  private childConfigSet(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    const route = this.node.dataCommandRoute("write");
    if (typeof route === "string") return slot.complete(encodeError(route));
    if (route) return this.node.proxy(route.proxyTo, encodeCommand(args), slot);
    this.node.write(session, encodeCommandPayload(PayloadKind.ChildConfig, args), slot);
  }

  /** WAIT numreplicas timeout, Redis's syntax and errors; on the leader only (it knows the acks). */
  private wait(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (args.length !== 3) return slot.complete(encodeError(arityError("wait")));
    const numReplicas = parseInteger(args[1]);
    if (numReplicas === null) {
      return slot.complete(encodeError("ERR value is not an integer or out of range"));
    }
    const timeoutMs = parseInteger(args[2]);
    if (timeoutMs === null) {
      return slot.complete(encodeError("ERR timeout is not an integer or out of range"));
    }
    if (timeoutMs < 0) return slot.complete(encodeError("ERR timeout is negative"));
    const route = this.node.dataCommandRoute("write");
    if (typeof route === "string") return slot.complete(encodeError(route));
    if (route) return slot.complete(encodeError(Errors.waitThroughProxy));
    this.node.waitReplicas(session, numReplicas, timeoutMs, slot);
  }

  /** WATCH key...: remember the keys and the applied index they are watched from (leader only). */
  private watch(session: ClientSession, args: Uint8Array[], slot: ReplySlot): void {
    if (args.length < 2) return slot.complete(encodeError(arityError("watch")));
    const route = this.node.dataCommandRoute("write");
    if (typeof route === "string") return slot.complete(encodeError(route));
    if (route) return slot.complete(encodeError(Errors.watchThroughProxy));
    const watch = (session.state.watch ??= {
      index: this.node.watchIndex(session),
      keys: new Map(),
    }) as SessionWatch;
    for (const key of args.slice(1)) watch.keys.set(keyString(key), key.slice());
    slot.complete(OK);
  }

  private exec(
    session: ClientSession,
    txn: Transaction,
    slot: ReplySlot,
    watch?: SessionWatch,
  ): void {
    if (txn.failed) return slot.complete(encodeError(Errors.execAbort));
    const route = this.node.dataCommandRoute(txn.readOnly && !watch ? "read" : "write", session);
    if (typeof route === "string") return slot.complete(encodeError(route));
    if (route) {
      const commands = txn.commands.map((c) => encodeCommand(c));
      return this.node.proxy(route.proxyTo, encodeCommand([RAFT_TXN, ...commands]), slot);
    }
    const parts = [
      encodeCommand(["MULTI"]),
      ...txn.commands.map((c) => encodeCommand(c)),
      encodeCommand(["EXEC"]),
    ];
    const bytes = concatBytes(parts);
    const replyCount = txn.commands.length + 2;
    if (txn.readOnly && !watch) return this.node.read(session, bytes, replyCount, slot);
    const watched = watch ? { index: watch.index, keys: [...watch.keys.values()] } : undefined;
    const payload = encodePayload(
      PayloadKind.Transaction,
      replyCount,
      bytes,
      watched,
      undefined,
      txn.scripts,
    );
    this.node.write(session, payload, slot);
  }
}

/** Commands whose effect depends on the child's clock in a way no rewrite fixes: deliveries. */
const deliveryClockNames = new Set(["xreadgroup", "xclaim", "xautoclaim"]);

/**
 * XREAD's and XREADGROUP's options come before STREAMS; BLOCK among them would wait on the
 * child. The values of GROUP and COUNT are skipped: a group may be called "block".
 */
function hasBlockOption(args: Uint8Array[]): boolean {
  for (let i = 1; i < args.length; i++) {
    const option = lowerAscii(args[i]);
    if (option === "streams") return false;
    if (option === "block") return true;
    if (option === "group") i += 2;
    else if (option === "count") i += 1;
  }
  return false;
}

/** TIME: seconds and microseconds of the wall clock, as Redis answers. */
function timeReply(): Uint8Array {
  // Date.now() has milliseconds only; the monotonic clock's fraction fills the microseconds.
  const micros = Date.now() * 1000 + Math.floor((performance.now() % 1) * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  return encodeStringArray([String(seconds), String(micros - seconds * 1_000_000)]);
}

/**
 * A queued command's own copy of its arguments: they are views into the read that brought them,
 * and a transaction holds them until EXEC, so a read padded with blank lines around one small
 * command would keep its whole buffer alive while the transaction counts a few bytes.
 */
function ownedArgs(args: Uint8Array[]): Uint8Array[] {
  return args.map((arg) => arg.slice());
}

/** Flagged may_replicate in Redis 7.0, which COMMAND does not show. */
const mayReplicateNames = new Set(["eval", "evalsha", "fcall", "publish", "spublish"]);

/**
 * Redis refuses a monitor (a replica, to it) the commands that read or change keys, or may be
 * replicated: `Replica can't interact with the keyspace`.
 */
function touchesKeyspace(info: CommandInfo): boolean {
  return info.flags.has("write") || info.flags.has("readonly") || mayReplicateNames.has(info.name);
}

function isKeyspaceCommand(check: CommandInfo | string): boolean {
  return typeof check !== "string" && touchesKeyspace(check);
}
