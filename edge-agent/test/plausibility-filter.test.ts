import { PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import { describe, expect, it } from "vitest";
import { PlausibilityFilter } from "../src/plausibility-filter";
import type { DecodedSample } from "../src/readers/device-reader";

const T0 = Date.UTC(2026, 0, 10);
const config = PlausibilityConfig.parse({});

/** A healthy 16-cell LFP sample at poll n (1 s apart). */
function sample(n: number, change: (s: DecodedSample) => void = () => undefined): DecodedSample {
  const s: DecodedSample = {
    v: 1,
    ts: T0 + n * 1000,
    seq: 0,
    packVoltage: 52.8,
    current: -10,
    soc: 60,
    soh: 97,
    cellVoltages: Array.from({ length: 16 }, (_, i) => 3.3 + i * 0.001),
    cellTemperatures: Array.from({ length: 8 }, () => 25),
  };
  change(s);
  return s;
}

const cell = (i: number, v: number) => (s: DecodedSample) => {
  s.cellVoltages[i] = v;
};

describe("plausibility filter", () => {
  it("passes healthy samples through, in order", () => {
    const f = new PlausibilityFilter(config, 10_000);
    for (let n = 0; n < 5; n++) {
      const v = f.check(sample(n));
      expect(v.release.map((s) => s.ts)).toEqual([T0 + n * 1000]);
      expect([...v.dropped, ...v.suspect]).toEqual([]);
    }
  });

  it("keeps out a cell at 0 V among healthy neighbours for one poll: held, then dropped when the next poll agrees with the last", () => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    const glitch = f.check(sample(1, cell(4, 0)));
    expect(glitch.release).toEqual([]);
    expect(glitch.suspect).toEqual([expect.objectContaining({ kind: "outlier", field: "cellVoltages", index: 4, value: 0 })]);
    const next = f.check(sample(2));
    expect(next.release.map((s) => s.ts)).toEqual([T0 + 2000]);
    expect(next.dropped).toEqual([expect.objectContaining({ field: "cellVoltages", index: 4 })]);
  });

  it("rejects a sample with a cell at 65 V outright (outside physical bounds)", () => {
    const f = new PlausibilityFilter(config, 10_000);
    const v = f.check(sample(0, cell(2, 65)));
    expect(v.release).toEqual([]);
    expect(v.rejected).toMatch(/cellVoltages\.2/);
    expect(v.dropped).toEqual([expect.objectContaining({ kind: "bounds", field: "cellVoltages", index: 2, value: 65 })]);
  });

  it("leaves an impossible optional value out and publishes the rest", () => {
    const f = new PlausibilityFilter(config, 10_000);
    const v = f.check(
      sample(0, (s) => {
        s.soh = 250;
        s.insulationResistance = -3;
      }),
    );
    expect(v.release).toHaveLength(1);
    expect(v.release[0]).not.toHaveProperty("soh");
    expect(v.release[0]).not.toHaveProperty("insulationResistance");
    expect(v.release[0]?.packVoltage).toBe(52.8);
    expect(v.dropped.map((d) => d.field).sort()).toEqual(["insulationResistance", "soh"]);
  });

  it.each([
    ["a temperature jump of 40 °C", (s: DecodedSample) => (s.cellTemperatures[3] = 65), "cellTemperatures"],
    ["a SOC jump of 45 points", (s: DecodedSample) => (s.soc = 15), "soc"],
    ["a cell jumping 0.8 V", cell(7, 2.5), "cellVoltages"],
    ["the pack voltage halving", (s: DecodedSample) => (s.packVoltage = 26), "packVoltage"],
  ])("keeps out %s in one poll when the next poll is back", (_what, change, field) => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    expect(f.check(sample(1, change)).release).toEqual([]);
    const back = f.check(sample(2));
    expect(back.release).toHaveLength(1);
    expect(back.dropped.map((d) => d.field)).toContain(field);
  });

  it("believes a step that persists for confirmPolls polls, and releases the held samples in order with their own ts", () => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    const dropped = (s: DecodedSample) => {
      s.packVoltage = 20; // e.g. the pack voltage measured behind a contactor that opened
    };
    expect(f.check(sample(1, dropped)).release).toEqual([]);
    expect(f.check(sample(2, dropped)).release).toEqual([]);
    const third = f.check(sample(3, dropped));
    expect(third.release.map((s) => [s.ts, s.packVoltage])).toEqual([
      [T0 + 1000, 20],
      [T0 + 2000, 20],
      [T0 + 3000, 20],
    ]);
    expect(third.confirmed).toHaveLength(3);
    expect(third.dropped).toEqual([]);
    expect(f.check(sample(4, dropped)).release).toHaveLength(1);
  });

  it("believes a cell that stays at 0 V (an open sense wire), and stops holding samples for it", () => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    for (const n of [1, 2]) expect(f.check(sample(n, cell(9, 0))).release).toEqual([]);
    expect(f.check(sample(3, cell(9, 0))).release).toHaveLength(3);
    for (const n of [4, 5, 6]) expect(f.check(sample(n, cell(9, 0))).release).toHaveLength(1);
    // Back to normal, and then a new glitch on the same cell is suspect again.
    expect(f.check(sample(7)).release).toHaveLength(1);
    expect(f.check(sample(8, cell(9, 0))).release).toEqual([]);
  });

  it("judges no jump against a sample older than its limit (a device back from an outage)", () => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    expect(f.check(sample(60, (s) => (s.soc = 20))).release).toHaveLength(1);
  });

  it("when disabled, passes anything within bounds", () => {
    const f = new PlausibilityFilter(PlausibilityConfig.parse({ enabled: false }), 10_000);
    f.check(sample(0));
    expect(f.check(sample(1, cell(4, 0))).release).toHaveLength(1);
    expect(f.check(sample(2, cell(4, 65))).rejected).toBeDefined();
  });

  it("gives back what it holds when asked to forget it", () => {
    const f = new PlausibilityFilter(config, 10_000);
    f.check(sample(0));
    f.check(sample(1, cell(4, 0)));
    expect(f.heldCount).toBe(1);
    expect(f.discardHeld()).toEqual([expect.objectContaining({ field: "cellVoltages", index: 4 })]);
    expect(f.heldCount).toBe(0);
  });
});
