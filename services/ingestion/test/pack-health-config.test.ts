import { ConfigError, type PackSample } from "@bms/shared";
import { parseScenario, ScenarioRunner } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../../../test/support/temp-dir";
import { PackObservation } from "../src/rules/pack-observation";
import { RuleBook } from "../src/rules/rule-book";
import { readPackHealth } from "../src/warranty/health-reader";
import { PackHealth } from "../src/warranty/pack-health";
import { bandLabel, stressKey } from "../src/warranty/stress-tally";
import { feedScenario, startFastEngine } from "./fixtures/scenario-feed";

/** The warranty terms and health settings per product, their mistakes, and a saved health part that does not fit. */

function problems(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join("\n");
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const sample = (over: Partial<PackSample> = {}): PackSample => ({
  v: 1,
  ts: Date.UTC(2025, 0, 1),
  seq: 1,
  packVoltage: 52,
  current: -20,
  soc: 85,
  cellVoltages: Array.from({ length: 16 }, () => 3.3),
  cellTemperatures: [30, 31],
  ...over,
});

describe("warranty terms and health settings", () => {
  it("layers a product's terms over its chemistry's, and the shipped window and end-of-life curve apply otherwise", () => {
    const book = RuleBook.load({
      inline: {
        products: {
          "LFP-48-100": {
            warranty: { warrantedYears: 8, warrantedThroughputKWh: 30000, operatingWindow: { maxTemperatureC: 40 } },
            health: { minRestS: 3600 },
          },
        },
      },
    });
    const product = book.resolve("s", "p", "LFP", "LFP-48-100");
    expect(product.warranty).toMatchObject({ warrantedYears: 8, eolSohPct: 70, warrantedThroughputKWh: 30000, warrantedEquivalentCycles: 6000 });
    expect(product.warranty.operatingWindow).toMatchObject({ maxTemperatureC: 40, minTemperatureC: -10, maxChargeC: 0.5 });
    expect(product.health.minRestS).toBe(3600);
    const other = book.resolve("s", "p", "NMC", "another-model");
    expect(other.warranty).toMatchObject({ warrantedYears: 10, warrantedEquivalentCycles: 3000, warrantedThroughputKWh: null });
    expect(other.health.minRestS).toBe(1800);
  });

  it("finds malformed, out-of-range and hostile values at load, naming the product", () => {
    const text = problems(() =>
      RuleBook.load({
        inline: {
          health: {
            socBandsPct: [0, 50, 20],
            ocvCurve: [
              [0, 3.0],
              [50, 2.9],
            ],
          },
          products: {
            evil: { warranty: { eolSohPct: 0, operatingWindow: { maxSocPct: 150, sneaky: 1 } }, health: { minRestS: -5 } },
          },
        },
      }),
    );
    expect(text).toMatch(/^health: socBandsPct: edges must rise/m);
    expect(text).toMatch(/^health: ocvCurve: SOC and volts must both rise/m);
    expect(text).toMatch(/^warranty \(with products\.evil\): eolSohPct: Too small/m);
    expect(text).toMatch(/^warranty \(with products\.evil\): operatingWindow\.maxSocPct: Too big/m);
    expect(text).toMatch(/operatingWindow: Unrecognized key: "sneaky"/);
    expect(text).toMatch(/^health \(with products\.evil\): minRestS: Too small/m);
    expect(problems(() => RuleBook.load({ inline: { products: { "": {} } } }))).toMatch(/products/);
    expect(problems(() => RuleBook.load({ inline: { products: { x: { rules: {} } } } }))).toMatch(/Unrecognized key: "rules"/);
  });

  it("names the stress bands as the API promises", () => {
    const { health } = RuleBook.load().resolve("s", "p", "LFP");
    expect(stressKey(85, 30, health)).toBe("soc 80-90 | 25-35 °C");
    expect(stressKey(100, 60, health)).toBe("soc 90-100 | 55 °C and above");
    expect(stressKey(0, -15, health)).toBe("soc 0-10 | below -10 °C");
    expect(stressKey(50, undefined, health)).toBe("soc 50-60 | unknown °C");
    expect(bandLabel(0.75, [0.2, 0.5, 1, 2], " C")).toBe("0.5-1 C");
    expect(bandLabel(0.1, [0.2, 0.5, 1, 2], " C")).toBe("below 0.2 C");
    expect(bandLabel(3, [0.2, 0.5, 1, 2], " C")).toBe("2 C and above");
    // The key's cached labels are bandLabel's, on every edge and between.
    const edges = health.socBandsPct;
    for (let soc = -1; soc <= 101; soc += 0.5) expect(stressKey(soc, 25.5, health)).toBe(`soc ${bandLabel(soc, edges, "", true)} | 25-35 °C`);
    for (let t = -60; t <= 80; t += 0.5) expect(stressKey(50, t, health)).toBe(`soc 50-60 | ${bandLabel(t, health.temperatureBandsC, " °C")}`);
  });

  it("starts a health part that does not fit afresh, and says so", () => {
    const reports: string[] = [];
    const health = new PackHealth({ v: 1, counters: { hours: "many" } }, (problem) => reports.push(problem));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^health: /);
    expect(health.state.counters.hours).toBe(0);
    const future = new PackHealth({ v: 2 }, (problem) => reports.push(problem));
    expect(reports).toHaveLength(2);
    expect(future.state.v).toBe(1);
    // A row from before the health part was kept: no report, a fresh part.
    new PackHealth(undefined, (problem) => reports.push(problem));
    expect(reports).toHaveLength(2);
  });

  it("counts a live sample's time and throughput, and a back-filled one in its place", () => {
    const resolved = RuleBook.load().resolve("s", "p", "LFP");
    const ctx = { terms: resolved.warranty, settings: resolved.health, meta: null, chemistry: "LFP" as const };
    const observe = (s: PackSample) => new PackObservation("s", "p", s, "LFP", 100, 0.05, s.cellVoltages, s.cellTemperatures, []);
    const health = new PackHealth(undefined, () => {});
    const t0 = Date.UTC(2025, 0, 1);
    health.add(observe(sample({ ts: t0 })), ctx);
    const next = health.add(observe(sample({ ts: t0 + 120_000, current: -40 })), ctx);
    // The live step stepped over a gap: 120 s at 40 A (capped at 300 s, it is below).
    expect(health.state.counters.dischargedAh).toBeCloseTo((40 * 120) / 3600, 9);
    const fill = { next };
    health.fill(observe(sample({ ts: t0 + 60_000, current: -10 })), ctx, t0, fill);
    // Now 60 s at 10 A, then the live sample's 60 s at 40 A.
    expect(health.state.counters.dischargedAh).toBeCloseTo((10 * 60 + 40 * 60) / 3600, 9);
    expect(health.state.counters.hours).toBeCloseTo(120 / 3600, 9);
    // A sample outside the gap, or one seen already, changes nothing.
    health.fill(observe(sample({ ts: t0 + 60_000, current: -10 })), ctx, t0 + 60_000, fill);
    health.fill(observe(sample({ ts: t0 + 200_000, current: -10 })), ctx, t0 + 60_000, fill);
    expect(health.state.counters.dischargedAh).toBeCloseTo((10 * 60 + 40 * 60) / 3600, 9);
    expect(health.state.extremes.maxDischargeC).toEqual({ value: 0.4, at: t0 + 120_000 });
  });

  it("counts a pack against its product's operating window in the engine, and the health read answers with it", async () => {
    const scenario = parseScenario({ name: "product", seed: 7, packs: 1, packDefaults: { capacityAh: 50 }, durationS: 3600, intervalS: 30 });
    const model = new ScenarioRunner(scenario).packs[0]?.identity.model ?? "";
    // 15 °C: every sample of a pack near 25 °C is outside its product's window.
    const rules = { products: { [model]: { warranty: { warrantedThroughputKWh: 12_345, operatingWindow: { maxTemperatureC: 15 } } } } };
    const dir = makeTempDir("bms-product-");
    try {
      const t0 = Date.UTC(2025, 0, 1);
      const fast = await startFastEngine(dir.path, { rules, now: t0 });
      await feedScenario(fast.engine, scenario, { siteId: "s1", t0 });
      await fast.engine.checkpoint();
      const health = await readPackHealth(fast.store, RuleBook.load({ inline: rules }), "s1", "pack-1", t0 + 3_600_000);
      await fast.close();
      expect(health?.pack.model).toBe(model);
      expect(health?.operatingWindow.limits.maxTemperatureC).toBe(15);
      expect(health?.operatingWindow.outsideHours["temperature-high"]).toBeCloseTo(health?.operatingHours ?? -1, 1);
      expect(health?.throughputWarranty.warrantedThroughputKWh).toBe(12_345);
    } finally {
      dir.remove();
    }
  });
});
