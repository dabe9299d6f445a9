/**
 * @module
 * Where the nodes live on the network. `NamespaceNetwork` puts each node in its own network
 * namespace with its own address on a bridge created for this run (the harness keeps an
 * address on the bridge in the root namespace, so clients reach every node); a one-way drop
 * from A to B is a blackhole route to B inside A's namespace. Every namespace, veth and bridge
 * is named after this process id and removed by `destroy()`. `LoopbackNetwork` is the fallback
 * when namespaces are not available: all nodes on 127.0.0.1, no partitions.
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
  destroy(): Promise<void>;
}

async function ip(args: string[], check = true): Promise<string> {
  const output = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (check && !output.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return text;
}

export class NamespaceNetwork implements Network {
  readonly kind = "netns";
  readonly canPartition = true;
  private readonly prefix: string;
  private readonly subnet: string;
  private readonly slots = new Set<number>();
  private readonly drops = new Set<string>();
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
    const veth = `${this.prefix}v${slot}`;
    this.slots.add(slot);
    await ip(["netns", "add", ns]);
    await ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await ip(["link", "set", veth, "master", this.bridge, "up"]);
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
    await ip(["-n", this.namespace(from), "route", "add", "blackhole", `${this.hostOf(to)}/32`]);
  }

  async heal(): Promise<void> {
    for (const key of [...this.drops]) {
      const [from, to] = key.split(">").map(Number);
      await ip(
        ["-n", this.namespace(from), "route", "del", "blackhole", `${this.hostOf(to)}/32`],
        false,
      );
      this.drops.delete(key);
    }
  }

  async destroy(): Promise<void> {
    for (const slot of this.slots) {
      await ip(["link", "del", `${this.prefix}v${slot}`], false);
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
