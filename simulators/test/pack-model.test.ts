import { EVT1_BITS } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { InvalidFaultError } from "../src/faults";
import { lfpOpenCircuitVoltage } from "../src/model/open-circuit-voltage";
import { PackModel } from "../src/pack-model";

function maxOf(values: readonly number[]): number {
  return Math.max(...values);
}

describe("PackModel physics", () => {
  it("integrates current into SOC (coulomb counting)", () => {
    const pack = new PackModel({ seed: 7, initialSoc: 50, load: { kind: "constant", amps: 20 } });
    pack.step(1800); // 20 A × 0.5 h = 10 Ah = 10 % of 100 Ah (each cell: of its own capacity)
    expect(pack.snapshot().current).toBeCloseTo(20, 6);
    expect(pack.snapshot().trueSoc).toBeCloseTo(60, 0);
    expect(Math.abs(pack.snapshot().soc - 60)).toBeLessThan(0.5); // the BMS counts with a small sensor offset

    const discharging = new PackModel({ seed: 7, initialSoc: 50, load: { kind: "constant", amps: -50 } });
    discharging.step(3600); // 50 Ah out
    expect(discharging.snapshot().soc).toBeCloseTo(5, 1);
  });

  it("stops charging near 100 % and discharging near 5 %", () => {
    const charging = new PackModel({ initialSoc: 95, load: { kind: "constant", amps: 50 } });
    charging.step(3600);
    const full = charging.snapshot();
    expect(full.soc).toBeLessThanOrEqual(100);
    expect(full.soc).toBeGreaterThan(99.9);
    expect(full.current).toBe(0);
    expect(full.chargeCurrentLimit).toBe(0);

    const draining = new PackModel({ initialSoc: 20, load: { kind: "constant", amps: -100 } });
    draining.step(3600);
    const empty = draining.snapshot();
    expect(empty.soc).toBeGreaterThan(4.9);
    expect(empty.soc).toBeLessThanOrEqual(5.01);
    expect(empty.current).toBe(0);
  });

  it("gives cell voltages from the LFP curve plus I×R, with a small spread", () => {
    const rest = new PackModel({ seed: 3, initialSoc: 50, load: { kind: "constant", amps: 0 } }).snapshot();
    const loaded = new PackModel({ seed: 3, initialSoc: 50, load: { kind: "constant", amps: 50 } });
    loaded.step(0.001);
    const charging = loaded.snapshot();
    expect(rest.cellVoltages).toHaveLength(16);
    for (const v of rest.cellVoltages) expect(v).toBeCloseTo(lfpOpenCircuitVoltage(50), 1);
    const spread = maxOf(rest.cellVoltages) - Math.min(...rest.cellVoltages);
    expect(spread).toBeGreaterThan(0);
    expect(spread).toBeLessThan(0.03);
    // 50 A through 0.5–1 mΩ: each cell 25–50 mV above rest.
    charging.cellVoltages.forEach((v, i) => {
      const rise = v - (rest.cellVoltages[i] ?? 0);
      expect(rise).toBeGreaterThan(0.024);
      expect(rise).toBeLessThan(0.051);
    });
    expect(charging.packVoltage).toBeCloseTo(
      charging.cellVoltages.reduce((a, b) => a + b, 0),
      9,
    );
  });

  it("heats cells with current (I²R) and lets them relax back to ambient", () => {
    const idle = new PackModel({ seed: 5, initialSoc: 50, load: { kind: "constant", amps: 0 } });
    const heavy = new PackModel({ seed: 5, initialSoc: 90, load: { kind: "constant", amps: -100 } }); // 1 C discharge
    idle.step(1800);
    heavy.step(1800);
    const idleT = idle.snapshot().cellTemperatures;
    const heavyT = heavy.snapshot().cellTemperatures;
    heavyT.forEach((t, i) => {
      expect(t).toBeGreaterThan((idleT[i] ?? 0) + 1);
    });
    for (const t of idleT) expect(Math.abs(t - 25)).toBeLessThan(0.5);

    // Heat one sensor with a fault, clear it: it cools back towards ambient.
    const cooling = new PackModel({ seed: 5, initialSoc: 50, load: { kind: "constant", amps: 0 } });
    cooling.injectFault({ kind: "over-temperature", sensor: 2, ratePerSecond: 1, maxC: 45 });
    cooling.step(30);
    const hot = cooling.snapshot().cellTemperatures[2] ?? 0;
    expect(hot).toBe(45); // climbed 1 °C/s from ~25 °C, stopped at maxC
    cooling.clearFaults();
    cooling.step(1200); // one thermal time constant
    const after = cooling.snapshot().cellTemperatures[2] ?? 0;
    expect(after).toBeLessThan(hot - 10);
    cooling.step(10_000);
    expect(Math.abs((cooling.snapshot().cellTemperatures[2] ?? 0) - 25)).toBeLessThan(0.5);
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const run = (seed: number) => {
      const pack = new PackModel({ seed });
      for (let i = 0; i < 200; i++) pack.step(7.5);
      return pack.snapshot();
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42).cellVoltages).not.toEqual(run(43).cellVoltages);
  });

  it("runs its default load cycle within ±0.5 C and keeps SOC in 5–100 %", () => {
    const pack = new PackModel({ seed: 11 });
    let charged = false;
    let discharged = false;
    for (let i = 0; i < 48 * 60; i++) {
      pack.step(60);
      const s = pack.snapshot();
      expect(Math.abs(s.current)).toBeLessThanOrEqual(50.0001);
      expect(s.soc).toBeGreaterThanOrEqual(5);
      expect(s.soc).toBeLessThanOrEqual(100);
      expect(s.alarms).toEqual([]);
      if (s.current > 1) charged = true;
      if (s.current < -1) discharged = true;
    }
    expect(charged && discharged).toBe(true);
  });

  it("rejects a negative or non-finite step", () => {
    const pack = new PackModel();
    expect(() => pack.step(-1)).toThrow(RangeError);
    expect(() => pack.step(Number.NaN)).toThrow(/finite/);
  });
});

describe("PackModel BMS behaviour and faults", () => {
  it("an over-temperature ramp crosses 50 °C (warning) and 55 °C (alarm), sets Evt1 and opens the contactor", () => {
    const pack = new PackModel({ seed: 2, initialSoc: 50, load: { kind: "constant", amps: -30 } });
    pack.injectFault({ kind: "over-temperature" });
    pack.step(20);
    expect(pack.snapshot().alarms.filter((code) => code.startsWith("OVER_TEMP"))).toEqual([]);
    pack.step(7); // sensor 0 ≈ 52 °C
    const warm = pack.snapshot();
    expect(warm.alarms.filter((code) => code.startsWith("OVER_TEMP"))).toEqual(["OVER_TEMP_WARNING"]);
    expect(warm.alarms).toContain("TEMPERATURE_IMBALANCE_ALARM"); // 27 °C above the other sensors
    expect(warm.dischargeCurrentLimit).toBe(50); // derated by half
    pack.step(6); // ≈ 58 °C
    const hot = pack.snapshot();
    expect(hot.cellTemperatures[0]).toBeGreaterThanOrEqual(55);
    expect(hot.alarms.filter((code) => code.startsWith("OVER_TEMP"))).toEqual(["OVER_TEMP_ALARM", "OVER_TEMP_WARNING"]);
    expect(hot.evt1 & (1 << EVT1_BITS.OVER_TEMP_ALARM)).not.toBe(0);
    expect(hot.current).toBe(0);
    expect(hot.state).toBe(99); // FAULT
    expect(hot.chargeStatus).toBe(1); // OFF
    pack.step(100);
    expect(pack.snapshot().cellTemperatures[0]).toBe(80); // default maxC
  });

  it("latches an alarm until a reset (AlmRst) and until its condition has gone", () => {
    const pack = new PackModel({ seed: 2, initialSoc: 50, load: { kind: "constant", amps: -20 } });
    pack.injectFault({ kind: "over-temperature", sensor: 3, ratePerSecond: 5, maxC: 60 });
    pack.step(10);
    expect(pack.snapshot().alarms).toEqual(["OVER_TEMP_ALARM", "OVER_TEMP_WARNING", "TEMPERATURE_IMBALANCE_ALARM", "TEMPERATURE_IMBALANCE_WARNING"]);
    pack.clearFaults();
    pack.requestAlarmReset(); // asked while still hot: takes effect once the sensor has cooled
    pack.step(1);
    expect(pack.snapshot().alarms).toContain("OVER_TEMP_ALARM");
    pack.step(3600);
    const cooled = pack.snapshot();
    expect(maxOf(cooled.cellTemperatures)).toBeLessThan(30);
    expect(cooled.alarms).toEqual([]);
    expect(cooled.state).toBe(3); // CONNECTED again
    expect(cooled.current).toBeCloseTo(-20, 6);

    // Without a reset the alarm stays latched (and the contactor open) after the cause has gone.
    const noReset = new PackModel({ seed: 2, initialSoc: 50, load: { kind: "constant", amps: -20 } });
    noReset.injectFault({ kind: "over-temperature", ratePerSecond: 5, maxC: 60 });
    noReset.step(10);
    noReset.clearFaults();
    noReset.step(3600);
    expect(maxOf(noReset.snapshot().cellTemperatures)).toBeLessThan(30);
    expect(noReset.snapshot().alarms).toEqual(["OVER_TEMP_ALARM", "TEMPERATURE_IMBALANCE_ALARM"]);
    expect(noReset.snapshot().current).toBe(0);
    noReset.requestAlarmReset();
    expect(noReset.snapshot().alarms).toEqual([]);
  });

  it("a cell-over-voltage fault raises OVER_VOLT_WARNING at 3.55 V and OVER_VOLT_ALARM at 3.65 V", () => {
    const pack = new PackModel({ seed: 4, initialSoc: 50, load: { kind: "constant", amps: 0 } });
    pack.injectFault({ kind: "cell-over-voltage", cell: 5, ratePerSecond: 0.01 });
    const base = pack.snapshot().cellVoltages[5] ?? 0;
    pack.step(Math.ceil((3.56 - base) / 0.01));
    expect(pack.snapshot().alarms).toEqual(["OVER_VOLT_WARNING", "VOLTAGE_IMBALANCE_WARNING"]);
    expect(pack.snapshot().chargeCurrentLimit).toBe(0);
    pack.step(12);
    const s = pack.snapshot();
    expect(s.cellVoltages[5]).toBeGreaterThanOrEqual(3.65);
    expect(s.alarms).toEqual(["OVER_VOLT_ALARM", "OVER_VOLT_WARNING", "VOLTAGE_IMBALANCE_WARNING"]);
    pack.step(1000);
    expect(pack.snapshot().cellVoltages[5]).toBeCloseTo(3.9, 6);
  });

  it("rejects malformed and out-of-range faults with InvalidFaultError", () => {
    const pack = new PackModel({ cellCount: 16 });
    const bad: unknown[] = [
      { kind: "over-temperature", sensor: 16 },
      { kind: "over-temperature", sensor: -1 },
      { kind: "over-temperature", ratePerSecond: 0 },
      { kind: "over-temperature", ratePerSecond: "fast" },
      { kind: "cell-over-voltage", cell: 99 },
      { kind: "meltdown" },
      { kind: "over-temperature", extra: 1 },
      null,
      "over-temperature",
    ];
    for (const fault of bad) {
      // @ts-expect-error: hostile input from an untyped caller
      expect(() => pack.injectFault(fault)).toThrow(InvalidFaultError);
    }
    expect(pack.snapshot().faults).toEqual([]);
  });
});
