import assert from "node:assert/strict";
import {
  bridgeRule,
  checkAvailability,
  faultWindows,
  slowDiskRule,
} from "../../chaos/checker/fault_availability.ts";
import type { HistoryEvent } from "../../chaos/history.ts";
import { HistoryBuilder } from "./history_builder.ts";

function nemesis(name: string, phase: "start" | "stop", detail: string, timeMs: number) {
  return { type: "nemesis", name, phase, detail, timeMs } as HistoryEvent;
}

const bridge = "bridge n0: {n1} | {n2}";

Deno.test("bridge windows: only bridges, closed by the partition's stop or the final heal, overlaps marked", () => {
  const windows = faultWindows([
    nemesis("partition", "start", "isolate: {n1} | {n0,n2}", 0),
    nemesis("partition", "stop", "healed the network", 1_000),
    nemesis("partition", "start", bridge, 2_000),
    nemesis("partition", "stop", "healed the network", 6_000),
    nemesis("kill", "start", "killed n1", 7_000),
    nemesis("partition", "start", bridge, 7_500),
    nemesis("kill", "stop", "restarted n1", 8_000),
    nemesis("partition", "stop", "healed the network", 12_000),
    nemesis("partition", "start", bridge, 13_000),
    nemesis("pause", "start", "paused n2", 14_000),
    nemesis("pause", "stop", "resumed n2", 15_000),
    nemesis("heal", "start", "heal everything", 20_000),
  ], bridgeRule);
  assert.deepEqual(
    windows.map((w) => [w.startMs, w.endMs, w.alone]),
    [[2_000, 6_000, true], [7_500, 12_000, false], [13_000, 20_000, false]],
  );
});

Deno.test("bridge availability: an acknowledged operation in each judged bridge's second half", () => {
  const events = [
    nemesis("partition", "start", bridge, 2_000),
    nemesis("partition", "stop", "healed the network", 6_000),
    nemesis("partition", "start", bridge, 10_000),
    nemesis("partition", "stop", "healed the network", 11_000), // too short to judge
  ];
  const served = new HistoryBuilder()
    .add("read", "k", null, 1, 0, 500)
    .add("read", "k", null, 1, 4_500, 5_000)
    .add("read", "k", null, 1, 20_000, 20_500);
  const valid = checkAvailability(events, served.ops, bridgeRule);
  assert.equal(valid.kind, "valid");
  assert.equal(valid.stats.judged, 1);
  assert.equal(valid.stats.windows, 2);

  // Acknowledged only in the first half (an election may still run then), and failures later.
  const stalled = new HistoryBuilder()
    .add("read", "k", null, 1, 2_100, 2_500)
    .add("write", "k", 2, undefined, 4_100, 5_900, "fail")
    .add("write", "k", 3, undefined, 4_200, Infinity, "info");
  const invalid = checkAvailability(events, stalled.ops, bridgeRule);
  assert.equal(invalid.kind, "invalid");
  assert.equal(invalid.anomalies[0].kind, "unavailable-during-bridge");
  assert.match(invalid.anomalies[0].message, /0 operations acknowledged from 4000 to 6000 ms/);
});

Deno.test("slow-disk availability: a judged window's second half serves a quarter of the run's rate", () => {
  const slow = "throttled n0's disk to 2 writes a second";
  const events = [
    nemesis("slowdisk", "start", slow, 10_000),
    nemesis("slowdisk", "stop", "restored n0's disk", 14_000),
    nemesis("slowdisk", "start", slow, 20_000),
    nemesis("slowdisk", "stop", "restored n0's disk", 23_000), // too short to judge
  ];
  // 100 operations a second over 30 s, but for the windows.
  const steady = (skip: (ms: number) => boolean) => {
    const history = new HistoryBuilder();
    for (let ms = 0; ms < 30_000; ms += 10) {
      if (!skip(ms)) history.add("read", "k", null, 1, ms, ms + 5);
    }
    return history;
  };
  const handedOver = steady((ms) => ms >= 10_000 && ms < 11_500 || ms >= 20_000 && ms < 23_000);
  const valid = checkAvailability(events, handedOver.ops, slowDiskRule);
  assert.equal(valid.kind, "valid");
  assert.equal(valid.stats.judged, 1);
  assert.equal(valid.stats.windows, 2);

  // The second half at a tenth of the rate: a leader that kept its slow disk.
  const stuck = steady((ms) => ms >= 10_000 && ms < 14_000 && ms % 100 !== 0);
  const invalid = checkAvailability(events, stuck.ops, slowDiskRule);
  assert.equal(invalid.kind, "invalid");
  assert.equal(invalid.anomalies[0].kind, "slow-during-slow-disk");
  assert.match(invalid.anomalies[0].message, /20 operations acknowledged from 12000 to 14000 ms/);
});
