import assert from "node:assert/strict";
import { History } from "../../chaos/history.ts";
import type { Nemesis, NemesisContext } from "../../chaos/nemesis/nemesis.ts";
import { NemesisScheduler } from "../../chaos/nemesis/scheduler.ts";
import { seededRandom } from "../../../src/raft/mod.ts";

/** A fault that only records when it is held, to watch the schedule itself. */
class RecordingNemesis implements Nemesis {
  held = false;
  constructor(readonly name: string, private readonly log: { active: Set<string>; peak: number }) {}
  start(): Promise<string> {
    assert.ok(!this.held, `${this.name} started twice at once`);
    this.held = true;
    this.log.active.add(this.name);
    this.log.peak = Math.max(this.log.peak, this.log.active.size);
    return Promise.resolve("held");
  }
  stop(): Promise<string> {
    this.held = false;
    this.log.active.delete(this.name);
    return Promise.resolve("healed");
  }
}

const timing = { quietMsMin: 1, quietMsMax: 5, holdMsMin: 20, holdMsMax: 40 };

async function schedule(overlap: number, kinds: number, runMs: number) {
  const log = { active: new Set<string>(), peak: 0 };
  const nemeses = Array.from({ length: kinds }, (_, i) => new RecordingNemesis(`n${i}`, log));
  const context = { random: seededRandom(7) } as unknown as NemesisContext;
  const scheduler = new NemesisScheduler(nemeses, context, new History(), timing, overlap);
  const done = scheduler.run();
  await new Promise((resolve) => setTimeout(resolve, runMs));
  scheduler.stop();
  await done;
  return { log, nemeses, faults: scheduler.faults };
}

Deno.test("nemesis schedule: one fault at a time by default", async () => {
  const { log, faults } = await schedule(1, 3, 300);
  assert.equal(log.peak, 1);
  assert.ok(faults >= 3, `only ${faults} faults`);
  assert.equal(log.active.size, 0, "every fault healed at stop");
});

Deno.test("nemesis schedule: --overlap holds faults of different kinds at once", async () => {
  const { log, nemeses } = await schedule(3, 3, 400);
  assert.ok(log.peak >= 2, `peak ${log.peak}: faults never overlapped`);
  assert.ok(log.peak <= 3);
  assert.equal(log.active.size, 0, "every fault healed at stop");
  assert.ok(nemeses.every((n) => !n.held));
});

Deno.test("nemesis schedule: overlap is bounded", () => {
  const context = { random: Math.random } as unknown as NemesisContext;
  assert.throws(() => new NemesisScheduler([], context, new History(), timing, 0), RangeError);
  assert.throws(() => new NemesisScheduler([], context, new History(), timing, 4), RangeError);
});
