import type { PackMeta, PackSample, SupportCase } from "@bms/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { type FastEngine, startFastEngine } from "./fixtures/scenario-feed";

/**
 * Each rule kind on the engine directly (no MQTT), in simulated time: samples carry the ts a test
 * chooses, so an hour of rest takes milliseconds.
 */
const T0 = Date.UTC(2025, 2, 1, 12);
const S = 1000;
const MIN = 60 * S;

const META: PackMeta = {
  v: 1,
  ts: T0,
  manufacturer: "Acme",
  model: "LFP-16S-100",
  serial: "SN-7",
  bmsFirmware: "3.0.1",
  chemistry: "LFP",
  cellCount: 16,
  ratedCapacity: 100,
  warrantyStart: "2024-01-01",
  warrantyEnd: "2034-01-01",
};

interface Shape {
  current?: number;
  cells?: number[];
  temps?: number[];
  alarms?: PackSample["bmsAlarms"];
  extra?: Partial<PackSample>;
}

/** A counter's value (summed over the label sets that match). */
async function counted(metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string> = {}) {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

let seq = 0;
function sample(ts: number, shape: Shape = {}): PackSample {
  const cells = shape.cells ?? Array.from({ length: 16 }, () => 3.3);
  return {
    v: 1,
    ts,
    seq: ++seq,
    packVoltage: Math.round(cells.reduce((a, b) => a + b, 0) * 100) / 100,
    current: shape.current ?? -20,
    soc: 60,
    soh: 97,
    cellVoltages: cells,
    cellTemperatures: shape.temps ?? [25, 25.2, 24.9, 25.1],
    bmsAlarms: shape.alarms ?? [],
    ...shape.extra,
  };
}

describe("rule kinds", () => {
  let dir: TempDir;
  let fast: FastEngine;
  const feed = async (packId: string, ts: number, shape: Shape = {}) => fast.engine.onSample("site", packId, sample(ts, shape), ts);
  /** One sample per `stepMs` from `from` to `to` (inclusive), shaped by `shape(t)` (t in ms since `from`). */
  const play = async (packId: string, from: number, to: number, stepMs: number, shape: (t: number) => Shape) => {
    for (let ts = from; ts <= to; ts += stepMs) await feed(packId, ts, shape(ts - from));
    await fast.engine.idle();
  };
  const cases = (filter: { packId?: string; ruleId?: string } = {}) => fast.store.list({ siteId: "site", ...filter });
  const summary = (list: SupportCase[]) => list.map((c) => `${c.packId} ${c.ruleId} ${c.severity}`);

  async function start(rules: Record<string, unknown> = {}): Promise<void> {
    fast = await startFastEngine(dir.path, { rules, now: T0 });
    for (const p of ["p1", "p2", "p3", "p4"]) fast.engine.onMeta("site", p, META);
  }

  beforeEach(() => {
    dir = makeTempDir("bms-kinds-");
  });
  afterEach(async () => {
    await fast?.close();
    dir.remove();
  });

  describe("threshold", () => {
    it("watches only the current state it names: charging below 0 °C, not discharging", async () => {
      await start();
      await play("p1", T0, T0 + 2 * MIN, S, () => ({ temps: [-5, -5, -5, -5], current: -20 }));
      expect(await cases()).toEqual([]);
      await play("p1", T0 + 2 * MIN + S, T0 + 3 * MIN, S, () => ({ temps: [-5, -5, -5, -5], current: 20 }));
      const [c] = await cases();
      expect(c).toMatchObject({ ruleId: "charge-under-temperature", severity: "major", openedAt: T0 + 2 * MIN + 31 * S });
      expect(c?.warranty?.exclusions.find((e) => e.condition === "charging-below-zero")).toMatchObject({ events: 1, worst: -5 });
    });

    it("fires at once on the BMS's confirming code, and on the code alone when the pack does not report the value", async () => {
      await start();
      await play("p1", T0, T0 + 5 * S, S, (t) => ({
        cells: [...Array(15).fill(3.3), t >= 3 * S ? 3.7 : 3.4],
        current: 20,
        alarms: t >= 3 * S ? ["OVER_VOLT_ALARM"] : [],
      }));
      expect(summary(await cases({ packId: "p1" }))).toEqual(["p1 cell-over-voltage major"]);
      expect((await cases({ packId: "p1" }))[0]?.openedAt).toBe(T0 + 3 * S);
      // p2 reports no insulation resistance (SunSpec 802 has none): GROUND_FAULT stands in for it.
      await play("p2", T0, T0 + 2 * MIN, S, (t) => ({ alarms: t >= 10 * S && t < MIN ? ["GROUND_FAULT"] : [] }));
      const [insulation] = await cases({ packId: "p2" });
      expect(insulation).toMatchObject({ ruleId: "insulation-fault", severity: "critical", openedAt: T0 + 10 * S });
      expect(insulation?.evidence).toMatchObject({ value: null, threshold: 100, bmsAlarms: ["GROUND_FAULT"] });
      expect(insulation?.clearedAt).toBe(T0 + MIN);
    });
  });

  describe("repeating", () => {
    it("fires when the condition starts `count` times within the window, not for fewer", async () => {
      await start({
        rules: {
          "spikes-seen": {
            kind: "repeating",
            title: "Discharge spikes",
            metric: "discharge-c-rate",
            direction: "above",
            threshold: 1.2,
            clear: 0.8,
            count: 3,
            windowS: 60,
            severity: "minor",
          },
        },
      });
      // p1: two spikes a minute, p2: three within 40 s.
      const spikes = (every: number) => (t: number) => ({ current: t % every === 0 && t > 0 ? -130 : -20 });
      await play("p1", T0, T0 + 5 * MIN, S, spikes(30 * S));
      await play("p2", T0, T0 + 40 * S, S, spikes(10 * S));
      expect(summary(await cases({ ruleId: "spikes-seen" }))).toEqual(["p2 spikes-seen minor"]);
      expect((await cases({ ruleId: "spikes-seen" }))[0]?.evidence.detail).toMatch(/^3 times in 20 s the value went above 1.2/);
    });

    it("a rule that opens no case still shows in the evidence of the next case on the pack", async () => {
      await start();
      // current-peaks (opensCase: false): five discharges above 1 C within ten minutes, then an over-current.
      await play("p1", T0, T0 + 5 * MIN, S, (t) => ({ current: t % MIN < 5 * S && t > 0 ? -110 : -20 }));
      expect(await cases()).toEqual([]);
      await play("p1", T0 + 5 * MIN + S, T0 + 5 * MIN + 5 * S, S, () => ({ current: -200 }));
      const [c] = await cases();
      expect(c?.ruleId).toBe("over-discharge-current");
      expect(c?.evidence.rulesFired.map((f) => [f.ruleId, f.role])).toEqual([
        ["current-peaks", "context"],
        ["over-discharge-current", "case"],
      ]);
    });
  });

  describe("rate of change (thermal runaway precursor)", () => {
    it("fires on heating that speeds up window after window, not on steady heating or a step in it", async () => {
      await start();
      // p1 self-heats: dT/dt doubles every two minutes. p2 heats a steady 4 °C/min. p3 steps from 0 to 6 °C/min.
      const temps = (hot: number) => [25, 25.1, hot, 24.9];
      await play("p1", T0, T0 + 8 * MIN, 5 * S, (t) => ({ current: 0, temps: temps(25 + 3 * (2 ** (t / (2 * MIN)) - 1)) }));
      await play("p2", T0, T0 + 8 * MIN, 5 * S, (t) => ({ temps: temps(25 + (4 * t) / MIN) }));
      await play("p3", T0, T0 + 8 * MIN, 5 * S, (t) => ({ temps: temps(t < 3 * MIN ? 25 : 25 + (6 * (t - 3 * MIN)) / MIN) }));
      // p4 heats as p1 does, sampled at 10 Hz: its points are thinned to 120 a window, and it is found the same.
      await play("p4", T0, T0 + 8 * MIN, 100, (t) => ({ current: 0, temps: temps(25 + 3 * (2 ** (t / (2 * MIN)) - 1)) }));
      const found = await cases({ ruleId: "thermal-runaway-precursor" });
      expect(summary(found).sort()).toEqual(["p1 thermal-runaway-precursor critical", "p4 thermal-runaway-precursor critical"]);
      const [p1, p4] = ["p1", "p4"].map((p) => found.find((c) => c.packId === p));
      expect(Math.abs((p4?.openedAt ?? 0) - (p1?.openedAt ?? 0))).toBeLessThanOrEqual(10 * S);
      expect(found[0]?.evidence.index).toBe(2);
      expect(found[0]?.evidence.detail).toMatch(/^Sensor 3 is heating faster and faster: [\d.]+ → [\d.]+ → [\d.]+ °C\/min/);
      // p2 and p3 get hot enough for over-temperature in time; that is their case, not a precursor.
      expect(summary(await cases({ packId: "p2" })).every((c) => !c.includes("precursor"))).toBe(true);
    });
  });

  describe("cell drift", () => {
    it("fires for a cell that discharges itself at rest, not for one relaxing after a load", async () => {
      await start();
      const cells = (low: number) => [...Array(7).fill(3.3), low, ...Array(8).fill(3.3)];
      // p1: cell 8 falls 0.5 mV a minute, steadily. p2: cell 8 relaxes from 10 mV above the others
      // to 20 mV below them after a charge (τ = 5 min): as far, but not steady.
      await play("p1", T0, T0 + 60 * MIN, 10 * S, (t) => ({ current: 0, cells: cells(3.3 - (0.0005 * t) / MIN) }));
      await play("p2", T0, T0 + 60 * MIN, 10 * S, (t) => ({ current: 0, cells: cells(3.3 - 0.02 + 0.03 * Math.exp(-t / (5 * MIN))) }));
      const found = await cases({ ruleId: "cell-drift" });
      expect(summary(found)).toEqual(["p1 cell-drift major"]);
      expect(found[0]?.evidence).toMatchObject({ index: 7 });
      expect(found[0]?.evidence.detail).toMatch(/^At rest, cell 8 fell 1\d(\.\d)? mV against the median of its neighbours in 18\d\d s, steadily/);
    });

    it("fires for a cell that stays warmer than the others at rest, and not under load", async () => {
      await start();
      await play("p1", T0, T0 + 10 * MIN, 10 * S, () => ({ current: -50, temps: [25, 25, 36, 25] }));
      expect(await cases({ ruleId: "cell-drift" })).toEqual([]);
      await play("p1", T0 + 10 * MIN + 10 * S, T0 + 20 * MIN, 10 * S, () => ({ current: 0, temps: [25, 25, 36, 25] }));
      const [c] = await cases({ ruleId: "cell-drift" });
      expect(c).toMatchObject({ openedAt: T0 + 15 * MIN + 10 * S, evidence: expect.objectContaining({ index: 2, value: 11 }) });
    });
  });

  describe("sensor faults and the plausibility filter", () => {
    it("keeps a shorted thermistor out of over-temperature and opens a sensor-fault case instead", async () => {
      await start();
      await play("p1", T0, T0 + 5 * MIN, S, (t) => ({ temps: [25, t >= 30 * S ? 125 : 25.2, 24.9, 25.1], alarms: t >= 32 * S ? ["OVER_TEMP_ALARM"] : [] }));
      const found = await cases();
      expect(summary(found)).toEqual(["p1 sensor-fault major"]);
      expect(found[0]?.evidence.detail).toMatch(/^Sensor 2 jumped from 25.2 to 125 °C in 1 s, faster than 5 °C\/s: a shorted or loose thermistor, for 10 s/);
      // The BMS tripped on the bad reading: its code is evidence on the sensor-fault case.
      expect(found[0]?.evidence.rulesFired.map((f) => f.ruleId)).toEqual(["sensor-fault", "bms-alarm"]);
      expect(found[0]?.severity).toBe("major");
      expect(await counted(fast.metrics.implausibleReadings)).toBeGreaterThan(200);
    });

    it("believes a sensor that heats up gradually, even past the rail", async () => {
      await start();
      await play("p1", T0, T0 + 4 * MIN, S, (t) => ({ temps: [25, 25 + t / S / 2, 24.9, 25.1] }));
      expect(summary(await cases())).toEqual(["p1 over-temperature critical"]);
    });

    it("finds a sensor stuck while the others warm, and an open cell tap", async () => {
      await start();
      await play("p1", T0, T0 + 10 * MIN, 10 * S, (t) => {
        const warm = 25 + (0.3 * t) / MIN;
        return { temps: [warm, 25, warm + 0.1, warm - 0.1] };
      });
      await play("p2", T0, T0 + MIN, S, (t) => ({ cells: [...Array(15).fill(3.3), t >= 10 * S ? 0 : 3.3] }));
      const found = await cases({ ruleId: "sensor-fault" });
      expect(summary(found).sort()).toEqual(["p1 sensor-fault minor", "p2 sensor-fault major"]);
      expect(found.find((c) => c.packId === "p1")?.evidence.detail).toMatch(
        /^Sensor 2 has read 25 °C for 300 s while the other sensors moved 1\.\d+ °C: a stuck sensor\./,
      );
      expect(found.find((c) => c.packId === "p2")?.evidence.detail).toMatch(
        /^Cell 16 reads 0 V, below the 0.5 V rail: an open voltage tap or a BMS cable fault/,
      );
      // The open tap is not an under-voltage.
      expect(await cases({ ruleId: "cell-under-voltage" })).toEqual([]);
    });
  });

  describe("BMS alarms", () => {
    it("waits each code's confirm time, and lets a rule that opens no case explain one away", async () => {
      await start();
      // TEMPERATURE_IMBALANCE_ALARM waits 300 s: 200 s of it opens nothing.
      await play("p1", T0, T0 + 200 * S, 10 * S, () => ({ alarms: ["TEMPERATURE_IMBALANCE_ALARM"] }));
      expect(await cases()).toEqual([]);
      await play("p1", T0 + 210 * S, T0 + 400 * S, 10 * S, () => ({ alarms: ["TEMPERATURE_IMBALANCE_ALARM"] }));
      expect((await cases())[0]).toMatchObject({ ruleId: "bms-alarm", openedAt: T0 + 300 * S });
      // UNDER_SOC_MIN_ALARM while low-soc (which opens no case) holds: the BMS agrees with us, no case.
      await play("p2", T0, T0 + 5 * MIN, 10 * S, (t) => ({ extra: { soc: 8 }, alarms: t > MIN ? ["UNDER_SOC_MIN_ALARM"] : [] }));
      expect(await cases({ packId: "p2" })).toEqual([]);
      expect(await counted(fast.metrics.firingsExplained, { rule: "bms-alarm" })).toBe(1);
    });
  });

  describe("cases over time", () => {
    it("reopens a resolved case when its fault returns, and opens a new one after the reopen period", async () => {
      await start();
      const hot = (t: number) => ({ temps: [25, Math.min(58, 25 + t / S), 25, 25] });
      await play("p1", T0, T0 + 2 * MIN, S, hot);
      await play("p1", T0 + 2 * MIN + S, T0 + 5 * MIN, S, () => ({}));
      const [first] = await cases();
      expect(first?.clearedAt).not.toBeNull();
      await fast.store.transition(first?.id ?? "", "acknowledged", "Ada", T0 + 6 * MIN);
      await fast.store.transition(first?.id ?? "", "resolved", "Ada", T0 + 7 * MIN);
      await play("p1", T0 + 10 * MIN, T0 + 12 * MIN, S, hot);
      const [back] = await cases();
      expect(back).toMatchObject({ id: first?.id, status: "open", reopenedCount: 1, occurrences: 2 });
      await fast.store.transition(first?.id ?? "", "acknowledged", "Ada", T0 + 13 * MIN);
      await fast.store.transition(first?.id ?? "", "resolved", "Ada", T0 + 14 * MIN);
      await fast.store.transition(first?.id ?? "", "closed", "Ada", T0 + 15 * MIN);
      await play("p1", T0 + 15 * MIN + S, T0 + 17 * MIN, S, () => ({}));
      const later = T0 + 40 * 86_400_000;
      await play("p1", later, later + 2 * MIN, S, hot);
      const all = await cases();
      expect(all.map((c) => [c.id === first?.id, c.status])).toEqual([
        [false, "open"],
        [true, "closed"],
      ]);
    });

    it("keeps what is pending and what is active across a restart: no second case, no lost hold", async () => {
      await start();
      const hot = (t: number) => ({ temps: [25, Math.min(54, 25 + t / S), 25, 25] });
      // Sensor 1 passes 50 °C at 26 s; the major level needs 30 s of it. Stop at 40 s: pending.
      await play("p1", T0, T0 + 40 * S, S, hot);
      expect(await cases()).toEqual([]);
      await fast.close();
      await start();
      await play("p1", T0 + 41 * S, T0 + 90 * S, S, (t) => hot(t + 41 * S));
      const [c] = await cases();
      // The hold counted from 26 s, before the restart.
      expect(c).toMatchObject({ ruleId: "over-temperature", severity: "major", openedAt: T0 + 56 * S });
      await fast.close();
      await start();
      await play("p1", T0 + 91 * S, T0 + 3 * MIN, S, (t) => hot(t + 91 * S));
      expect(await cases()).toHaveLength(1);
      expect((await cases())[0]).toMatchObject({ occurrences: 1, clearedAt: null });
    });
  });
});
