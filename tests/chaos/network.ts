/**
 * @module
 * Where the nodes live on the network. `NamespaceNetwork` puts each node in its own network
 * namespace with its own address on a bridge created for this run (the harness keeps an
 * address on the bridge in the root namespace, so clients reach every node). What a node
 * receives leaves the bridge through the bridge's end of its veth, where a traffic-control tree
 * (tc htb) sorts it: a one-way drop from A to B is a filter there, on B's end, sending A's packets
 * to a class that discards them. So a drop is the network's, as when a switch or a firewall on
 * the way loses them: A's kernel sends and waits for acknowledgements, backing off, as it would
 * behind a real partition (a route in A's namespace would fail its sends at once instead, which
 * TCP retries without backing off). Every namespace, veth and bridge is named after this process
 * id and removed by `destroy()`. A slow link is a token-bucket queue (tc tbf) on both ends of a
 * node's veth: what it sends and what it receives go at that rate, and what waits longer than the
 * queue allows is dropped. `LoopbackNetwork` is the fallback when namespaces are not available:
 * all nodes on 127.0.0.1, no partitions, no slow links.
 */

const nodePort = 7000;

export interface Network {
  readonly kind: "netns" | "loopback";
  readonly canPartition: boolean;
  /** Create what slot `slot` needs (idempotent). */
  prepare(slot: number): Promise<void>;
  addrOf(slot: number): string;
  /** The argv that runs `argv` inside the slot's network. */
  wrap(slot: number, argv: string[]): string[];
  /** Drop every packet sent by slot `from` to slot `to` (one direction). */
  drop(from: number, to: number): Promise<void>;
  /** Remove every drop. */
  heal(): Promise<void>;
  /**
   * Everything slot `slot` sends or receives goes at `rateKbit` kilobits per second through a
   * queue that holds `queueMs` of it; what does not fit is dropped. Replaces an earlier one.
   */
  slowLink(slot: number, rateKbit: number, queueMs: number): Promise<void>;
  /** The slot's link at full speed again. */
  restoreLink(slot: number): Promise<void>;
  destroy(): Promise<void>;
}

async function run(command: string, args: string[], check: boolean): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  if (check && !output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${command} ${args.join(" ")}: ${stderr}`);
  }
  return text;
}

function ip(args: string[], check = true): Promise<string> {
  return run("ip", args, check);
}

function tc(args: string[], check = true): Promise<string> {
  return run("tc", args, check);
}

/** A command line's words (none of them has a space). */
function words(line: string): string[] {
  return line.split(" ");
}

/** The classes of the tree on a bridge end: one passes traffic, the other drops it. */
const passClass = "1:1";
const dropClass = "1:2";

/** Bytes the token bucket may send in one burst: a few full frames. */
const slowLinkBurstBytes = 16 * 1024;

export class NamespaceNetwork implements Network {
  readonly kind = "netns";
  readonly canPartition = true;
  private readonly prefix: string;
  private readonly subnet: string;
  private readonly slots = new Set<number>();
  private readonly drops = new Set<string>();
  private readonly slowSlots = new Set<number>();
  private bridgeUp = false;

  private constructor(tag: string, subnet: string) {
    this.prefix = `rrc${tag}`;
    this.subnet = subnet;
  }

  /** A network for this process, or null if namespaces cannot be created here. */
  static async create(): Promise<NamespaceNetwork | null> {
    const tag = String(Deno.pid);
    const used = await ip(["-o", "addr", "show"], false).catch(() => "");
    let subnet = "";
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = `10.${100 + (Deno.pid + attempt) % 100}.${(Deno.pid >> 7) % 250}`;
      if (!used.includes(` ${candidate}.`)) {
        subnet = candidate;
        break;
      }
    }
    if (!subnet) return null;
    const network = new NamespaceNetwork(tag, subnet);
    try {
      await network.createBridge();
      return network;
    } catch {
      await network.destroy();
      return null;
    }
  }

  /** Remove namespaces, veths and bridges left by earlier runs whose process is gone. */
  static async removeLeftovers(): Promise<void> {
    const names = (await ip(["netns", "list"], false).catch(() => "")).split("\n")
      .map((line) => line.split(" ")[0]).filter((name) => /^rrc\d+n\d+$/.test(name));
    const links = (await ip(["-o", "link", "show"], false).catch(() => "")).split("\n")
      .map((line) => line.split(": ")[1]?.split("@")[0] ?? "").filter((name) =>
        /^rrc\d+(br|v\d+)$/.test(name)
      );
    for (const name of [...names, ...links]) {
      const pid = Number(/^rrc(\d+)/.exec(name)![1]);
      if (pid === Deno.pid || await processExists(pid)) continue;
      if (names.includes(name)) await ip(["netns", "del", name], false);
      else await ip(["link", "del", name], false);
    }
  }

  private get bridge(): string {
    return `${this.prefix}br`;
  }

  private namespace(slot: number): string {
    return `${this.prefix}n${slot}`;
  }

  private hostOf(slot: number): string {
    return `${this.subnet}.${10 + slot}`;
  }

  private async createBridge(): Promise<void> {
    await ip(["link", "add", this.bridge, "type", "bridge"]);
    this.bridgeUp = true;
    await ip(["addr", "add", `${this.subnet}.1/24`, "dev", this.bridge]);
    await ip(["link", "set", this.bridge, "up"]);
  }

  async prepare(slot: number): Promise<void> {
    if (this.slots.has(slot)) return;
    if (slot > 200) throw new Error("too many node slots");
    const ns = this.namespace(slot);
    const veth = this.bridgeEnd(slot);
    this.slots.add(slot);
    await ip(["netns", "add", ns]);
    await ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await ip(["link", "set", veth, "master", this.bridge, "up"]);
    await this.sortingTree(veth);
    await ip(["-n", ns, "addr", "add", `${this.hostOf(slot)}/24`, "dev", "eth0"]);
    await ip(["-n", ns, "link", "set", "eth0", "up"]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
  }

  addrOf(slot: number): string {
    return `${this.hostOf(slot)}:${nodePort}`;
  }

  wrap(slot: number, argv: string[]): string[] {
    return ["ip", "netns", "exec", this.namespace(slot), ...argv];
  }

  async drop(from: number, to: number): Promise<void> {
    const key = `${from}>${to}`;
    if (this.drops.has(key)) return;
    this.drops.add(key);
    const [dev, src] = [this.bridgeEnd(to), `${this.hostOf(from)}/32`];
    await tc(
      words(
        `filter add dev ${dev} parent 1: protocol ip prio 1 u32 match ip src ${src} flowid ${dropClass}`,
      ),
    );
  }

  async heal(): Promise<void> {
    const targets = new Set([...this.drops].map((key) => Number(key.split(">")[1])));
    for (const to of targets) {
      await tc(["filter", "del", "dev", this.bridgeEnd(to), "parent", "1:", "prio", "1"], false);
    }
    this.drops.clear();
  }

  async slowLink(slot: number, rateKbit: number, queueMs: number): Promise<void> {
    if (!this.slots.has(slot)) throw new Error(`slot ${slot} has no link`);
    const tbf = [
      "tbf",
      "rate",
      `${rateKbit}kbit`,
      "burst",
      String(slowLinkBurstBytes),
      "latency",
      `${queueMs}ms`,
    ];
    this.slowSlots.add(slot);
    // The namespace's eth0 sends what the node sends; the bridge's end sends what it receives
    // (the default class's queue: drops stay drops).
    await tc(["-n", this.namespace(slot), "qdisc", "replace", "dev", "eth0", "root", ...tbf]);
    await tc(["qdisc", "replace", "dev", this.bridgeEnd(slot), "parent", passClass, ...tbf]);
  }

  async restoreLink(slot: number): Promise<void> {
    if (!this.slowSlots.delete(slot)) return;
    await tc(["-n", this.namespace(slot), "qdisc", "del", "dev", "eth0", "root"], false);
    await tc(["qdisc", "del", "dev", this.bridgeEnd(slot), "parent", passClass], false);
  }

  /** The bridge's end of the slot's veth: what the node receives leaves the bridge there. */
  private bridgeEnd(slot: number): string {
    return `${this.prefix}v${slot}`;
  }

  /** What leaves through `dev` goes to `passClass`, unless a filter sends it to `dropClass`. */
  private async sortingTree(dev: string): Promise<void> {
    await tc(words(`qdisc add dev ${dev} root handle 1: htb default 1`));
    await tc(words(`class add dev ${dev} parent 1: classid ${passClass} htb rate 10gbit`));
    await tc(words(`class add dev ${dev} parent 1: classid ${dropClass} htb rate 8bit`));
    // A bucket smaller than any packet, with no queue: nothing passes.
    await tc(words(`qdisc add dev ${dev} parent ${dropClass} tbf rate 8bit burst 1 limit 1`));
  }

  async destroy(): Promise<void> {
    this.slowSlots.clear();
    for (const slot of this.slots) {
      await ip(["link", "del", this.bridgeEnd(slot)], false);
      await ip(["netns", "del", this.namespace(slot)], false);
    }
    this.slots.clear();
    if (this.bridgeUp) await ip(["link", "del", this.bridge], false);
    this.bridgeUp = false;
  }
}

export class LoopbackNetwork implements Network {
  readonly kind = "loopback";
  readonly canPartition = false;
  private readonly ports = new Map<number, number>();

  prepare(slot: number): Promise<void> {
    if (!this.ports.has(slot)) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      this.ports.set(slot, (listener.addr as Deno.NetAddr).port);
      listener.close();
    }
    return Promise.resolve();
  }

  addrOf(slot: number): string {
    return `127.0.0.1:${this.ports.get(slot)}`;
  }

  wrap(_slot: number, argv: string[]): string[] {
    return argv;
  }

  drop(): Promise<void> {
    return Promise.reject(new Error("partitions need network namespaces"));
  }

  heal(): Promise<void> {
    return Promise.resolve();
  }

  slowLink(): Promise<void> {
    return Promise.reject(new Error("slow links need network namespaces"));
  }

  restoreLink(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

async function processExists(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
