import { join } from "node:path";
import type { PackHealth } from "@bms/shared";
import type { PackSnapshot } from "@bms/simulators";
import { readScenarioFile, ScenarioRunner } from "@bms/simulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { RuleBook } from "../src/rules/rule-book";
import { readPackHealth } from "../src/warranty/health-reader";
import { type FastEngine, feedRunner, sendMeta, startFastEngine } from "./fixtures/scenario-feed";

/**
 * A fleet ages on the simulated clock: five times, 100 equivalent full cycles fast-forwarded over
 * 25 days, then one day stepped and sampled every 30 s into the rule engine. The field SOH
 * estimate is then checked against the simulator's true capacity (the weakest cell's), the cells'
 * verdict against the scenario, the resistance trend against the true growth.
 */

const SITE = "fleet";
const T0 = Date.UTC(2025, 0, 1);
const EPOCHS = 5;
const CYCLES_PER_EPOCH = 100;

interface Figure {
  pack: string;
  epoch: number;
  truth: number;
  estimate: number | null;
  windows: number;
}

describe("pack health on an ageing fleet (fast-forwarded simulated clock)", () => {
  let dir: TempDir;
  let fast: FastEngine;
  const figures: Figure[] = [];
  const truths = new Map<string, PackSnapshot>();
  const final = new Map<string, PackHealth>();
  const first = new Map<string, PackHealth>();

  beforeAll(async () => {
    dir = makeTempDir("bms-ageing-");
    fast = await startFastEngine(dir.path, { now: T0 });
    const scenario = readScenarioFile(join(import.meta.dirname, "fixtures", "ageing-fleet.yaml"));
    const runner = new ScenarioRunner(scenario);
    const book = RuleBook.load();
    sendMeta(fast.engine, runner, { siteId: SITE, t0: T0 });
    const seq = { next: 0 };
    for (let epoch = 1; epoch <= EPOCHS; epoch++) {
      runner.fastForward({ days: 25, equivalentCycles: CYCLES_PER_EPOCH });
      await feedRunner(fast.engine, runner, { siteId: SITE, t0: T0, intervalS: scenario.intervalS, durationS: scenario.durationS, noiseSeed: epoch, seq });
      await fast.engine.checkpoint();
      const now = T0 + runner.simulatedSeconds * 1000;
      for (const pack of runner.packs) {
        const packId = `pack-${pack.unitId}`;
        const health = await readPackHealth(fast.store, book, SITE, packId, now);
        if (!health) throw new Error(`no health for ${packId}`);
        const truth = pack.snapshot();
        figures.push({ pack: packId, epoch, truth: truth.trueSoh, estimate: health.sohEstimatePct, windows: health.sohWindows });
        truths.set(packId, truth);
        final.set(packId, health);
        if (epoch === 1) first.set(packId, health);
      }
    }
    // A guard, not a speed test: five simulated days of six packs on a loaded 2-core machine.
  }, 600_000);

  afterAll(async () => {
    await fast?.close();
    dir?.remove();
  });

  it("estimates SOH within ±3 points of the simulator's true capacity where there are enough windows", () => {
    const estimated = figures.filter((f) => f.estimate !== null);
    const errors = estimated.map((f) => Math.abs((f.estimate as number) - f.truth));
    const lines = figures.map(
      (f) => `${f.pack} epoch ${f.epoch}: true ${f.truth.toFixed(2)} %, estimate ${f.estimate?.toFixed(2) ?? "none"} (${f.windows} windows)`,
    );
    for (const [packId, health] of final) lines.push(`${packId}: ${health.sohWindowsTotal} windows in all, left out: ${JSON.stringify(health.sohRejected)}`);
    console.log(
      `${lines.join("\n")}\nSOH error: mean ${(errors.reduce((a, b) => a + b, 0) / errors.length).toFixed(2)} points, worst ${Math.max(...errors).toFixed(2)} over ${errors.length} estimates`,
    );
    for (const f of estimated) expect(Math.abs((f.estimate as number) - f.truth), `${f.pack} at epoch ${f.epoch}`).toBeLessThanOrEqual(3);
    // Every pack that rests near full and near empty (and the NMC pack, whose curve slopes) has an estimate at the end.
    for (const packId of ["pack-1", "pack-2", "pack-3", "pack-6"]) expect(final.get(packId)?.sohEstimatePct, packId).not.toBeNull();
  });

  it("says not enough data for a pack that cycles on LFP's flat plateau without rests", () => {
    const health = final.get("pack-5") as PackHealth;
    expect(health.sohEstimatePct).toBeNull();
    expect(health.sohReason).toMatch(/^not enough data/);
    expect(health.sohUncertaintyPct).toBeNull();
  });

  it("classifies the ageing weak cell as weak, the pack out of balance as imbalanced, a healthy pack as balanced", () => {
    const weak = final.get("pack-3") as PackHealth;
    expect(weak.cells.verdict, weak.cells.reason).toBe("weak-cell");
    expect(weak.cells.weak.map((c) => c.cell)).toEqual([5]);
    expect(weak.weakestCell).toBe(5);
    const imbalanced = final.get("pack-4") as PackHealth;
    expect(imbalanced.cells.verdict, imbalanced.cells.reason).toBe("imbalanced");
    expect((final.get("pack-1") as PackHealth).cells.verdict).toBe("balanced");
  });

  it("follows the resistance growth and forecasts the end of life of the fading packs", () => {
    for (const packId of ["pack-1", "pack-2", "pack-3"]) {
      const health = final.get(packId) as PackHealth;
      const truth = truths.get(packId) as PackSnapshot;
      const trueGrowth = ((truth.resistance25MilliOhm as number) / ((first.get(packId) as PackHealth).resistance.baselineMilliOhm as number) - 1) * 100;
      console.log(
        `${packId}: resistance ${health.resistance.milliOhm} mΩ (true ${truth.resistance25MilliOhm?.toFixed(3)}), growth ${health.resistance.growthPct} % over ${health.resistance.steps} steps; forecast ${JSON.stringify(health.eolForecast)}`,
      );
      expect(health.resistance.steps).toBeGreaterThan(10);
      expect(Math.abs((health.resistance.milliOhm as number) - (truth.resistance25MilliOhm as number)) / (truth.resistance25MilliOhm as number)).toBeLessThan(
        0.1,
      );
      expect(trueGrowth).toBeGreaterThan(0);
      expect(health.eolForecast.trendPctPerYear).toBeLessThan(0);
      expect(health.eolForecast.at).not.toBeNull();
      expect(health.eolForecast.earliest as number).toBeLessThanOrEqual(health.eolForecast.latest as number);
    }
  });
});
