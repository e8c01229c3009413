import type { PackMeta, PackSample, SupportCase } from "@bms/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { FOLLOW_EVERY_MS } from "../src/rules/evidence-follower";
import { type FastEngine, startFastEngine } from "./fixtures/scenario-feed";

/**
 * A case's evidence follows its condition while it holds (issue 12: the detail said "55.5 °C,
 * above 55 °C for 1 s, repair looks free" while the sensor sat at 80 °C for two minutes).
 */
const T0 = Date.UTC(2025, 5, 1, 12);
const S = 1000;

const META: PackMeta = {
  v: 1,
  ts: T0,
  manufacturer: "Acme",
  model: "LFP-16S-100",
  serial: "SN-80",
  bmsFirmware: "3.0.1",
  chemistry: "LFP",
  cellCount: 4,
  ratedCapacity: 100,
  warrantyStart: "2024-01-01",
  warrantyEnd: "2034-01-01",
};

let seq = 0;
/** A discharging pack; sensor 3 (index 2) at `hot` °C. */
function sample(ts: number, hot: number): PackSample {
  return {
    v: 1,
    ts,
    seq: ++seq,
    packVoltage: 13.2,
    current: -20,
    soc: 60,
    cellVoltages: [3.3, 3.3, 3.3, 3.3],
    cellTemperatures: [30, 30.5, hot, 30.2],
    bmsAlarms: [],
  };
}

/** Sensor 3's temperature at second `t`: 30 °C, up to 55.5 °C (1 °C/s), there 10 s, up to 80 °C, 120 s there, down to 40 °C. */
function profile(): number[] {
  const temps: number[] = [];
  for (let v = 30; v < 55.5; v += 1) temps.push(v);
  for (let i = 0; i < 10; i++) temps.push(55.5);
  for (let v = 56.5; v <= 80; v += 1) temps.push(v);
  for (let i = 0; i < 120; i++) temps.push(80);
  for (let v = 79; v >= 40; v -= 1) temps.push(v);
  return temps;
}

describe("evidence that follows the case", () => {
  let dir: TempDir;
  let fast: FastEngine;
  beforeEach(async () => {
    dir = makeTempDir("bms-follow-");
    fast = await startFastEngine(dir.path, { now: T0 });
    fast.engine.onMeta("site", "p1", META);
  });
  afterEach(async () => {
    await fast.close();
    dir.remove();
  });

  const followed = async () => (await fast.metrics.caseEvents.get()).values.find((v) => v.labels.type === "followed")?.value ?? 0;
  const overTemperature = async () => {
    const [c] = await fast.store.list({ ruleId: "over-temperature" });
    return c as SupportCase;
  };

  it("keeps the opening evidence, adds the worst value and the time held, and re-runs the warranty assessment", async () => {
    const temps = profile();
    const coolFrom = temps.findIndex((t, i) => i > 0 && t < (temps[i - 1] ?? 0));
    for (const [i, hot] of temps.entries()) {
      await fast.engine.onSample("site", "p1", sample(T0 + i * S, hot), T0 + i * S);
      if (i === coolFrom - 1) {
        await fast.engine.idle();
        // Still at 80 °C: the case says so, not just what it saw when it opened.
        const holding = await overTemperature();
        expect(holding.evidence.detail).toMatch(/^Sensor 3 at 55\.5 °C is above the 55 °C critical level/);
        expect(holding.evidence.followUp).toMatchObject({ direction: "above", worstValue: 80, worstIndex: 2, worstDetail: "Sensor 3 at 80 °C" });
        // Held since it passed 55 °C (second 26), and up to a follow-up interval ago at most.
        expect(holding.evidence.followUp?.heldSince).toBe(T0 + temps.indexOf(55.5) * S);
        expect(holding.evidence.followUp?.heldUntil).toBeGreaterThanOrEqual(T0 + (coolFrom - 1) * S - FOLLOW_EVERY_MS);
        // The assessment is that of now: two minutes above 55 °C is beyond the 60 s tolerance.
        expect(holding.warranty?.suggestion).toBe("chargeable");
        expect(holding.warranty?.exclusions.find((e) => e.condition === "over-temperature")).toMatchObject({ worst: 80, exceedsTolerance: true });
      }
    }
    await fast.engine.idle();
    const cleared = await overTemperature();
    expect(cleared.clearedAt).not.toBeNull();
    // The episode's end sent what was left: it held until the last sample at or above the major level's clear (45 °C).
    const lastHot = T0 + temps.findLastIndex((t) => t >= 45) * S;
    expect(cleared.evidence.followUp?.heldUntil).toBe(lastHot);
    expect(cleared.evidence.followUp?.worstAt).toBeLessThan(T0 + coolFrom * S);
    // Not per sample: a handful of follow-ups over ~3 minutes of samples, and no timeline entries for them.
    const count = await followed();
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(12);
    const timeline = (await fast.store.get(cleared.id, { details: true }))?.timeline?.map((e) => e.kind);
    expect(timeline?.filter((k) => k !== "opened" && k !== "escalated" && k !== "cleared" && k !== "related")).toEqual([]);
  });

  it("does not follow a condition that does not hold any more, nor a rule without a case", async () => {
    for (let i = 0; i < 30; i++) await fast.engine.onSample("site", "p1", sample(T0 + i * S, 30), T0 + i * S);
    await fast.engine.idle();
    expect(await followed()).toBe(0);
    expect(await fast.store.list()).toEqual([]);
  });
});
