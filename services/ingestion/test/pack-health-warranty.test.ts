import type { SupportCase, WarrantyAssessment } from "@bms/shared";
import { parseScenario, ScenarioRunner } from "@bms/simulators";
import { afterEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { feedScenario, startFastEngine } from "./fixtures/scenario-feed";

/**
 * The case's warranty section from the pack's health: a pack discharged for two hours, then a
 * cell runs over voltage (a cell the BMS misjudges) and opens a case. The same history is judged against three products' terms:
 * the shipped window (free), a window the pack worked outside of (chargeable) and a warranted
 * throughput the pack has used up (chargeable); each with the evidence lines behind it.
 */

const T0 = Date.UTC(2025, 5, 1);
const SCENARIO = parseScenario({
  name: "warranty-section",
  seed: 11,
  packs: 1,
  packDefaults: { load: { kind: "constant", amps: -20 }, initialSoc: 80 },
  faults: [{ atS: 7200, pack: 1, fault: { kind: "cell-over-voltage", cell: 2, ratePerSecond: 0.005, maxV: 3.9 } }],
  durationS: 7500,
  intervalS: 30,
});
const MODEL = new ScenarioRunner(SCENARIO).packs[0]?.identity.model ?? "";

let dir: TempDir | undefined;
afterEach(() => dir?.remove());

/** The over-voltage case's warranty section with the product's terms layered over the shipped ones. */
async function warrantyWith(warranty: Record<string, unknown>): Promise<WarrantyAssessment> {
  dir = makeTempDir("bms-warranty-");
  // One hour of history is enough to judge the window here (the shipped terms want 24).
  const rules = { products: { [MODEL]: { warranty: { ...warranty, operatingWindow: { minOperatingHours: 1, ...(warranty.operatingWindow as object) } } } } };
  const fast = await startFastEngine(dir.path, { rules, now: T0 });
  try {
    await feedScenario(fast.engine, SCENARIO, { siteId: "w1", t0: T0 });
    await fast.engine.idle();
    const cases: SupportCase[] = await fast.store.list({ siteId: "w1", ruleId: "cell-over-voltage" });
    expect(cases, "the over-voltage case").toHaveLength(1);
    const warrantySection = cases[0]?.warranty;
    if (!warrantySection) throw new Error("the case has no warranty section");
    return warrantySection;
  } finally {
    await fast.close();
  }
}

const line = (w: WarrantyAssessment, topic: string) => w.evidence?.find((e) => e.topic === topic);

describe("the case's warranty section from the pack's health", () => {
  it("suggests free within the shipped operating window, and shows the stress, throughput and SOH behind it", async () => {
    const w = await warrantyWith({});
    expect(w.suggestion).toBe("free");
    expect(w.reason).toMatch(/Usage within the operating window/);
    expect(w.stress?.operatingHours).toBeGreaterThan(1.9);
    expect(w.stress?.outsideSharePct).toBeLessThan(5);
    expect(w.stress?.window).toMatch(/-10.*45 °C/);
    // 20 A for two hours: about 40 Ah out, 0.2 equivalent full cycles of 100 Ah, a sliver of the shipped LFP cycles.
    expect(w.throughput?.throughputAh).toBeGreaterThan(38);
    expect(w.throughput?.throughputAh).toBeLessThan(44);
    expect(w.throughput?.equivalentFullCycles).toBeCloseTo((w.throughput?.throughputAh ?? 0) / 200, 3);
    expect(w.throughput?.usedPct).toBeLessThan(1);
    expect(w.soh?.estimatePct).toBeNull();
    expect(w.soh?.reason).toMatch(/^not enough data/);
    expect(line(w, "operating-window")?.points).toBe("free");
    expect(line(w, "exclusion")?.points).toBe("free");
    expect(line(w, "soh")).toMatchObject({ points: "neutral", text: expect.stringMatching(/^No field SOH estimate/) });
    expect(line(w, "throughput")).toMatchObject({ points: "neutral", text: expect.stringMatching(/% of what the warranty covers\.$/) });
  });

  it("suggests chargeable when more of the hours than the terms allow were outside the product's window", async () => {
    // The pack worked near 25 °C: all of it outside a window that ends at 15 °C.
    const w = await warrantyWith({ operatingWindow: { maxTemperatureC: 15 } });
    expect(w.suggestion).toBe("chargeable");
    expect(w.reason).toMatch(/outside the operating window \(the terms allow 5 %\)/);
    expect(w.stress?.outsideSharePct).toBeGreaterThan(95);
    expect(w.stress?.outsideHours["temperature-high"]).toBeGreaterThan(1.9);
    expect(line(w, "operating-window")).toMatchObject({ points: "chargeable", text: expect.stringMatching(/temperature-high \d/) });
  });

  it("suggests chargeable when the warranted throughput is used up", async () => {
    // About 2 kWh came out; the product covers 1 kWh.
    const w = await warrantyWith({ warrantedThroughputKWh: 1 });
    expect(w.suggestion).toBe("chargeable");
    expect(w.reason).toMatch(/^The warranted throughput is used up/);
    expect(w.throughput?.warrantedThroughputKWh).toBe(1);
    expect(line(w, "throughput")).toMatchObject({ points: "chargeable", text: expect.stringMatching(/\(used up\)/) });
  });
});
