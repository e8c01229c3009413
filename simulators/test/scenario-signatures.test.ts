import { EVT1_BITS, hasValidCrc } from "@bms/shared";
import { BATTERY_STATE } from "@bms/shared/sunspec/models";
import { describe, expect, it } from "vitest";
import { loadScenario, shippedScenarioNames } from "../src/scenario/scenario-file";
import { type PackRecord, recordScenario, type ScenarioRecord } from "../src/scenario/scenario-recorder";
import { type DecodedImage, decodeImage } from "./scenario-image-decoder";

/**
 * For every shipped scenario, its fault's signature as a poller sees it: SunSpec registers decoded
 * with shared/src/sunspec/*, and the RTU reply bytes on the line.
 */

interface Row {
  t: number;
  pack: PackRecord;
  image: DecodedImage | null;
}

function rows(name: string, unitId: number): Row[] {
  return recordScenario(loadScenario(name)).map((record: ScenarioRecord) => {
    const pack = record.packs.find((p) => p.unitId === unitId);
    if (!pack) throw new Error(`no unit ${unitId}`);
    return { t: record.t, pack, image: pack.registers ? decodeImage(pack.registers) : null };
  });
}

function image(row: Row): DecodedImage {
  if (!row.image) throw new Error(`unit ${row.pack.unitId} was silent at ${row.t} s`);
  return row.image;
}

function has(row: Row, code: keyof typeof EVT1_BITS): boolean {
  return ((image(row).evt1 >>> EVT1_BITS[code]) & 1) === 1;
}

/** First time the condition holds, or Infinity. */
function firstT(data: readonly Row[], condition: (row: Row) => boolean): number {
  return data.find(condition)?.t ?? Number.POSITIVE_INFINITY;
}

const before = (data: readonly Row[], t: number) => data.filter((row) => row.t < t);
const from = (data: readonly Row[], t: number) => data.filter((row) => row.t >= t);

const signatures: Record<string, () => void> = {
  healthy: () => {
    for (const unit of [1, 2]) {
      const data = rows("healthy", unit);
      expect(data.every((row) => row.pack.link === "ok" && image(row).evt1 === 0)).toBe(true);
      expect(data.every((row) => row.pack.canFrames.map((f) => f.id).join() === "849,853,854,857,858,860,862")).toBe(true); // 0x351…0x35E
      expect(data.every((row) => Math.max(...image(row).cellTemperatures) < 35 && Math.max(...image(row).cellVoltages) < 3.55)).toBe(true);
    }
  },

  "over-temperature": () => {
    const data = rows("over-temperature", 1);
    expect(before(data, 60).every((row) => (image(row).cellTemperatures[3] ?? 0) < 30)).toBe(true);
    const crossed = firstT(data, (row) => (image(row).cellTemperatures[3] ?? 0) > 55);
    // 25 °C + 0.5 °C/s from 60 s: 55 °C at ~120 s.
    expect(crossed).toBeGreaterThanOrEqual(115);
    expect(crossed).toBeLessThanOrEqual(125);
    expect(firstT(data, (row) => has(row, "OVER_TEMP_WARNING"))).toBeLessThan(crossed);
    const alarm = firstT(data, (row) => has(row, "OVER_TEMP_ALARM"));
    expect(alarm).toBeGreaterThanOrEqual(crossed);
    expect(alarm).toBeLessThanOrEqual(crossed + 4); // the BMS's 2 s trip delay
    expect(from(data, alarm + 1).every((row) => image(row).current === 0 && image(row).state === BATTERY_STATE.FAULT)).toBe(true);
    expect(rows("over-temperature", 2).every((row) => image(row).evt1 === 0)).toBe(true);
  },

  "cell-over-voltage": () => {
    const data = rows("cell-over-voltage", 1);
    expect(before(data, 30).every((row) => (image(row).cellVoltages[2] ?? 0) < 3.45)).toBe(true);
    expect(data.filter((row) => row.t > 5 && row.t < 60).every((row) => image(row).current > 30)).toBe(true); // charging
    const crossed = firstT(data, (row) => (image(row).cellVoltages[2] ?? 0) >= 3.65);
    expect(crossed).toBeGreaterThan(30);
    expect(crossed).toBeLessThan(180);
    const alarm = firstT(data, (row) => has(row, "OVER_VOLT_ALARM"));
    expect(alarm).toBeGreaterThanOrEqual(crossed);
    expect(alarm).toBeLessThanOrEqual(crossed + 3);
    const last = image(data[data.length - 1] as Row);
    expect(last.current).toBe(0);
    expect(Math.max(...last.cellVoltages.filter((_, i) => i !== 2))).toBeLessThan(3.45); // only cell 2
  },

  "cell-under-voltage": () => {
    const data = rows("cell-under-voltage", 1);
    expect(before(data, 30).every((row) => (image(row).cellVoltages[5] ?? 0) > 3)).toBe(true);
    const crossed = firstT(data, (row) => (image(row).cellVoltages[5] ?? 9) <= 2.5);
    expect(crossed).toBeGreaterThan(30);
    expect(crossed).toBeLessThan(180);
    const alarm = firstT(data, (row) => has(row, "UNDER_VOLT_ALARM"));
    expect(alarm).toBeGreaterThanOrEqual(crossed);
    expect(alarm).toBeLessThanOrEqual(crossed + 3);
    // The contactor opens; at rest the sagging cell recovers, the alarm stays latched.
    const last = data[data.length - 1] as Row;
    expect(image(last).current).toBe(0);
    expect(image(last).cellVoltages[5]).toBeGreaterThan(3);
    expect(has(last, "UNDER_VOLT_ALARM")).toBe(true);
  },

  "weak-cell": () => {
    const data = rows("weak-cell", 1);
    const top = data.reduce((best, row) => (image(row).soc > image(best).soc ? row : best));
    const bottom = data[data.length - 1] as Row;
    const argmax = (v: number[]) => v.indexOf(Math.max(...v));
    const argmin = (v: number[]) => v.indexOf(Math.min(...v));
    expect(image(top).soc).toBeGreaterThan(95);
    expect(argmax(image(top).cellVoltages)).toBe(9); // highest at the top of charge...
    expect(image(bottom).soc).toBeLessThan(10);
    expect(argmin(image(bottom).cellVoltages)).toBe(9); // ...lowest at the bottom
    expect(data.some((row) => row.t < 3600 && has(row, "VOLTAGE_IMBALANCE_WARNING"))).toBe(true);
    expect(data.some((row) => row.t > 3600 && has(row, "VOLTAGE_IMBALANCE_WARNING"))).toBe(true);
  },

  "internal-short": () => {
    const data = rows("internal-short", 1);
    const gap = (row: Row) => {
      const v = image(row).cellVoltages;
      const others = v.filter((_, i) => i !== 7);
      return Math.min(...others) - (v[7] ?? 0);
    };
    expect(before(data, 60).every((row) => gap(row) < 0.005)).toBe(true);
    const last = data[data.length - 1] as Row;
    expect(gap(last)).toBeGreaterThan(0.02); // cell 7 sags at rest...
    expect(image(last).current).toBe(0);
    const t = image(last).cellTemperatures;
    expect(t.indexOf(Math.max(...t))).toBe(7); // ...and warms
  },

  "over-current": () => {
    const data = rows("over-current", 1);
    expect(before(data, 60).every((row) => image(row).evt1 === 0)).toBe(true);
    const spike = data.filter((row) => row.t >= 60 && row.t <= 66);
    expect(Math.min(...spike.map((row) => image(row).current))).toBeLessThan(-250);
    const alarm = firstT(data, (row) => has(row, "OVER_DISCHARGE_CURRENT_ALARM"));
    expect(alarm).toBeGreaterThan(60);
    expect(alarm).toBeLessThanOrEqual(64);
    expect(from(data, alarm + 1).every((row) => image(row).current === 0 && image(row).state === BATTERY_STATE.FAULT)).toBe(true);
  },

  "sensor-stuck": () => {
    const data = rows("sensor-stuck", 1);
    const after = from(data, 61);
    const stuck = new Set(after.map((row) => image(row).rawCellTemperatures[4]));
    expect(stuck.size).toBe(1); // the register never moves again...
    const others = (row: Row) => Math.max(...image(row).cellTemperatures.filter((_, i) => i !== 4));
    expect(others(after[after.length - 1] as Row) - others(after[0] as Row)).toBeGreaterThan(0.5); // ...while its neighbours warm
  },

  "sensor-open": () => {
    const data = rows("sensor-open", 1);
    expect(before(data, 60).every((row) => (image(row).cellTemperatures[4] ?? 0) > 20)).toBe(true);
    expect(from(data, 60).every((row) => image(row).cellTemperatures[4] === -40)).toBe(true);
    expect(from(data, 62).every((row) => has(row, "OTHER_WARNING") && has(row, "TEMPERATURE_IMBALANCE_WARNING"))).toBe(true);
  },

  "sensor-shorted": () => {
    const data = rows("sensor-shorted", 1);
    expect(before(data, 60).every((row) => (image(row).cellTemperatures[4] ?? 0) < 30)).toBe(true);
    expect(from(data, 60).every((row) => image(row).cellTemperatures[4] === 125)).toBe(true);
    const alarm = firstT(data, (row) => has(row, "OVER_TEMP_ALARM"));
    expect(alarm).toBeGreaterThanOrEqual(60);
    expect(alarm).toBeLessThanOrEqual(63);
  },

  "bms-protection-trip": () => {
    const data = rows("bms-protection-trip", 1);
    expect(before(data, 60).every((row) => image(row).evt1 === 0)).toBe(true);
    const alarm = firstT(data, (row) => has(row, "OVER_VOLT_ALARM"));
    expect(alarm).toBeGreaterThanOrEqual(60);
    expect(alarm).toBeLessThanOrEqual(63);
    // Tripped with every cell voltage normal: the BMS, not the cells.
    expect(data.every((row) => Math.max(...image(row).cellVoltages) < 3.45)).toBe(true);
    expect(from(data, alarm + 1).every((row) => has(row, "OVER_VOLT_ALARM") && image(row).current === 0 && image(row).state === BATTERY_STATE.FAULT)).toBe(
      true,
    );
  },

  "thermal-runaway-precursor": () => {
    const data = rows("thermal-runaway-precursor", 1);
    const at = (t: number) => image(data.find((row) => row.t === t) as Row);
    const rise = (a: number, b: number) => ((at(b).cellTemperatures[6] ?? 0) - (at(a).cellTemperatures[6] ?? 0)) / (b - a);
    expect(rise(0, 60)).toBeLessThan(0.01);
    expect(rise(300, 400)).toBeGreaterThan(rise(150, 250) * 1.5); // dT/dt rising
    expect(rise(400, 500)).toBeGreaterThan(rise(300, 400) * 1.5);
    expect((at(60).cellVoltages[6] ?? 0) - (at(500).cellVoltages[6] ?? 0)).toBeGreaterThan(0.05); // its voltage dips
    const alarm = firstT(data, (row) => has(row, "OVER_TEMP_ALARM"));
    expect(alarm).toBeGreaterThan(300);
    expect(alarm).toBeLessThanOrEqual(900);
  },

  "communication-loss": () => {
    const silent = rows("communication-loss", 2);
    expect(before(silent, 60).every((row) => row.pack.link === "ok" && row.pack.registers !== null && row.pack.rtuReply !== null)).toBe(true);
    expect(
      from(silent, 60).every(
        (row) => row.pack.link === "silent" && row.pack.registers === null && row.pack.rtuReply === null && row.pack.canFrames.length === 0,
      ),
    ).toBe(true);
    expect(rows("communication-loss", 1).every((row) => row.pack.registers !== null)).toBe(true);
  },

  "garbled-link": () => {
    const data = rows("garbled-link", 1);
    const fullLength = 3 + 2 * 64 + 2;
    const good = (row: Row) => {
      const frame = row.pack.rtuReply;
      return frame !== null && frame.length === fullLength && hasValidCrc(frame) && frame[0] === 1;
    };
    expect(before(data, 60).every(good)).toBe(true);
    const after = from(data, 60);
    const frames = after.map((row) => row.pack.rtuReply).filter((f): f is Buffer => f !== null);
    const badCrc = frames.filter((f) => f.length === fullLength && !hasValidCrc(f)).length;
    const truncated = frames.filter((f) => f.length < fullLength).length;
    const wrongUnit = frames.filter((f) => f.length === fullLength && hasValidCrc(f) && f[0] !== 1).length;
    const fine = after.filter(good).length;
    expect(badCrc).toBeGreaterThan(10);
    expect(truncated).toBeGreaterThan(2);
    expect(wrongUnit).toBeGreaterThan(2);
    expect(fine).toBeGreaterThan(after.length * 0.3);
    // The registers themselves stay right: only the line is bad.
    expect(after.every((row) => row.image !== null && row.image.evt1 === 0)).toBe(true);
  },

  "insulation-fault": () => {
    const data = rows("insulation-fault", 1);
    expect(before(data, 60).every((row) => image(row).evt1 === 0)).toBe(true);
    const alarm = firstT(data, (row) => has(row, "GROUND_FAULT"));
    expect(alarm).toBeGreaterThan(120);
    expect(alarm).toBeLessThanOrEqual(420);
    expect(firstT(data, (row) => has(row, "OTHER_WARNING"))).toBeLessThan(alarm); // the insulation warning comes first
    expect(from(data, alarm + 1).every((row) => image(row).current === 0)).toBe(true);
  },
};

describe("every shipped scenario shows its signature in the raw protocol data", () => {
  it("has a signature test for each shipped scenario", () => {
    expect(Object.keys(signatures).sort()).toEqual(shippedScenarioNames());
  });

  it.each(shippedScenarioNames())("%s", (name) => {
    const check = signatures[name];
    if (!check) throw new Error(`no signature test for ${name}`);
    check();
  });
});
