import { ConfigError } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { openCircuitVoltage } from "../src/model/open-circuit-voltage";
import { PackModel, type PackModelOptions } from "../src/pack-model";

const spread = (values: readonly number[]) => Math.max(...values) - Math.min(...values);

function run(options: PackModelOptions, seconds: number, dt = 1) {
  const pack = new PackModel(options);
  for (let t = 0; t < seconds; t += dt) pack.step(dt);
  return pack;
}

describe("pack model v2: cells", () => {
  it("counts coulombs per cell, each against its own capacity", () => {
    const pack = new PackModel({
      seed: 9,
      initialSoc: 50,
      socSpreadPct: 0,
      capacitySpreadPct: 10,
      load: { kind: "constant", amps: 20 },
      selfDischargePctPerMonth: 0,
    });
    const before = pack.snapshot();
    pack.step(1800); // 10 Ah in
    const after = pack.snapshot();
    after.cellSocs.forEach((soc, i) => {
      const capacity = before.cellCapacitiesAh[i] ?? 0;
      expect(soc - (before.cellSocs[i] ?? 0)).toBeCloseTo((10 / capacity) * 100, 6);
    });
    expect(spread(after.cellSocs)).toBeGreaterThan(1); // ±10 % capacities drift apart
  });

  it("self-discharges at rest, faster when warm", () => {
    const options = { seed: 4, initialSoc: 60, load: { kind: "constant", amps: 0 }, selfDischargePctPerMonth: 3 } as const;
    const cool = run({ ...options, ambientC: 25 }, 86_400 * 3, 60).snapshot();
    const warm = run({ ...options, ambientC: 45 }, 86_400 * 3, 60).snapshot();
    const start = new PackModel(options).snapshot().trueSoc;
    const coolLoss = start - cool.trueSoc;
    expect(coolLoss).toBeGreaterThan(0.2); // ~3 %/month → ~0.3 % in 3 days
    expect(coolLoss).toBeLessThan(0.45);
    expect(start - warm.trueSoc).toBeGreaterThan(coolLoss * 3); // ×4 at +20 °C
  });

  it("conducts heat from a hot cell to its neighbours, not to far cells", () => {
    const pack = new PackModel({ seed: 2, initialSoc: 50, load: { kind: "constant", amps: 0 } });
    pack.injectFault({ kind: "over-temperature", sensor: 5, ratePerSecond: 1, maxC: 60 });
    pack.step(900);
    const t = pack.snapshot().cellTemperatures;
    expect(t[5]).toBe(60);
    expect((t[4] ?? 0) - 25).toBeGreaterThan(2);
    expect((t[6] ?? 0) - 25).toBeGreaterThan(2);
    expect(Math.abs((t[12] ?? 0) - 25)).toBeLessThan(0.5);
    expect(t[4] ?? 0).toBeGreaterThan(t[3] ?? 0);
  });

  it("rises in resistance when cold: the same current drops more voltage", () => {
    const sag = (ambientC: number) => {
      const rest = new PackModel({ seed: 3, initialSoc: 50, ambientC, load: { kind: "constant", amps: 0 } }).snapshot().packVoltage;
      const loaded = new PackModel({ seed: 3, initialSoc: 50, ambientC, load: { kind: "constant", amps: -50 } });
      loaded.step(0.001);
      return rest - loaded.snapshot().packVoltage;
    };
    expect(sag(-10)).toBeGreaterThan(sag(25) * 2.5);
  });

  it("has distinct LFP and NMC curves, thresholds and ratings", () => {
    expect(openCircuitVoltage("LFP", 50)).toBeCloseTo(3.3, 2);
    expect(openCircuitVoltage("NMC", 50)).toBeCloseTo(3.79, 2);
    expect(openCircuitVoltage("NMC", 90) - openCircuitVoltage("NMC", 20)).toBeGreaterThan(0.4); // sloped
    expect(openCircuitVoltage("LFP", 90) - openCircuitVoltage("LFP", 20)).toBeLessThan(0.1); // flat plateau
    expect(openCircuitVoltage("LFP", 105)).toBeGreaterThan(3.65); // an overcharged cell runs away
    const nmc = new PackModel({ seed: 1, chemistry: "NMC", initialSoc: 50, load: { kind: "constant", amps: 0 } }).snapshot();
    expect(nmc.chemistry).toBe("NMC");
    for (const v of nmc.cellVoltages) expect(v).toBeCloseTo(3.79, 1);
    expect(nmc.ratings).toMatchObject({ cellVMax: 4.2, cellVMin: 2.75, nominalCellV: 3.7 });
    expect(nmc.alarms).toEqual([]);
  });

  it("balancing near the top of charge narrows the SOC spread", () => {
    const options = {
      seed: 5,
      initialSoc: 97,
      socSpreadPct: 1.5,
      capacityAh: 10,
      capacitySpreadPct: 0,
      balanceCurrentA: 0.2,
      load: { kind: "constant", amps: 0.5 },
    } as const;
    const start = new PackModel(options).snapshot();
    const pack = run(options, 3 * 3600, 5);
    const end = pack.snapshot();
    expect(spread(end.cellSocs)).toBeLessThan(spread(start.cellSocs) / 2);
    const withoutBalancing = run({ ...options, balanceCurrentA: 0 }, 3 * 3600, 5).snapshot();
    expect(spread(withoutBalancing.cellSocs)).toBeGreaterThan(spread(start.cellSocs) * 0.9);
  });

  it("splits the current between parallel strings and reports the topology", () => {
    const pack = new PackModel({
      seed: 6,
      topology: { strings: 2, modulesPerString: 2, cellsPerModule: 8 },
      initialSoc: 50,
      load: { kind: "constant", amps: -60 },
    });
    pack.step(60);
    const s = pack.snapshot();
    expect(s.topology).toEqual({ strings: 2, modulesPerString: 2, cellsPerModule: 8 });
    expect(s.cellVoltages).toHaveLength(32);
    expect(s.ratings.capacityAh).toBe(200);
    expect(s.stringCurrents).toHaveLength(2);
    expect((s.stringCurrents[0] ?? 0) + (s.stringCurrents[1] ?? 0)).toBeCloseTo(-60, 6);
    for (const a of s.stringCurrents) expect(a).toBeCloseTo(-30, -1);
    expect(s.packVoltage).toBeGreaterThan(16 * 3.2);
    expect(s.packVoltage).toBeLessThan(16 * 3.35);
  });

  it("follows a daily solar/backup profile from its start hour", () => {
    const pack = new PackModel({ seed: 8, initialSoc: 40, capacityAh: 1000, startHour: 6, load: { kind: "daily", cloudiness: 0 } });
    pack.step(6 * 3600); // noon
    expect(pack.snapshot().current).toBeCloseTo(40 - 5, 0);
    pack.step(7 * 3600); // 19:00
    expect(pack.snapshot().current).toBeCloseTo(-25, 0);
    pack.step(6 * 3600); // 01:00
    expect(pack.snapshot().current).toBeCloseTo(-5, 0);
  });

  it("plays a recorded current trace, interpolated, then holds or repeats", () => {
    const points: [number, number][] = [
      [0, 0],
      [100, -40],
      [200, 20],
    ];
    const hold = new PackModel({ seed: 1, initialSoc: 50, load: { kind: "trace", points } });
    // The snapshot shows the current of the last 1 s sub-step, asked for at its start (t = 49 s).
    hold.step(50);
    expect(hold.snapshot().current).toBeCloseTo(-19.6, 6);
    hold.step(100);
    expect(hold.snapshot().current).toBeCloseTo(-10.6, 6);
    hold.step(500);
    expect(hold.snapshot().current).toBeCloseTo(20, 6);
    const repeat = new PackModel({ seed: 1, initialSoc: 50, load: { kind: "trace", points, after: "repeat" } });
    repeat.step(250);
    expect(repeat.snapshot().current).toBeCloseTo(-19.6, 6);
  });

  it("runs a simulated hour at a 1 s step and stays healthy", () => {
    const pack = new PackModel({ seed: 12 });
    for (let i = 0; i < 3600; i++) pack.step(1);
    const s = pack.snapshot();
    expect(s.simulatedSeconds).toBeCloseTo(3600, 6);
    expect(s.alarms).toEqual([]);
    expect(s.contactorClosed).toBe(true);
  });

  it("is deterministic: the same seed and steps give byte-identical snapshots", () => {
    const play = () => {
      const pack = new PackModel({ seed: 77, topology: { strings: 2, cellsPerModule: 8 }, load: { kind: "daily" } });
      pack.injectFault({ kind: "weak-cell", cell: 3, rampS: 600 });
      pack.injectFault({ kind: "garbled-link" });
      const frames: string[] = [];
      for (let i = 0; i < 240; i++) {
        pack.step(i % 2 === 0 ? 15 : 45);
        frames.push(JSON.stringify(pack.snapshot()), String(pack.linkRandom()));
      }
      return frames.join("\n");
    };
    expect(play()).toBe(play());
  });

  it("rejects bad options with a ConfigError naming each problem", () => {
    const bad: unknown[] = [
      { chemistry: "NiCd" },
      { topology: { strings: 0 } },
      { topology: { strings: 16, modulesPerString: 64, cellsPerModule: 64 } },
      { capacityAh: -5 },
      { load: { kind: "trace", points: [] } },
      {
        load: {
          kind: "trace",
          points: [
            [10, 1],
            [5, 2],
          ],
        },
      },
      { load: { kind: "daily", sunriseHour: 20, sunsetHour: 6 } },
      { load: { kind: "constant", amps: Number.NaN } },
      { seed: -1 },
      { nonsense: true },
    ];
    for (const options of bad) {
      // @ts-expect-error: hostile input from an untyped caller
      expect(() => new PackModel(options)).toThrow(ConfigError);
    }
    expect(
      () =>
        new PackModel({
          load: {
            kind: "trace",
            points: [
              [10, 1],
              [5, 2],
            ],
          },
        }),
    ).toThrow(/load\.points.*increase strictly/);
  });
});
