import { alarmsToEvt1, type BmsAlarmCode, evt1ToAlarms } from "@bms/shared";
import { BATTERY_STATE, CHARGE_STATUS } from "@bms/shared/sunspec/models";
import { type Fault, type ResolvedFault, resolveFault } from "./faults";
import { lfpOpenCircuitVoltage } from "./lfp-open-circuit-voltage";
import { ConstantLoadProfile, CycleLoadProfile, type LoadProfile, type LoadSetting } from "./load-profile";
import { SeededRandom } from "./seeded-random";

export interface PackModelOptions {
  /** PRNG seed: the same seed and the same step() calls give the same pack. @default 1 */
  seed?: number;
  /** Cells in series, one temperature sensor each. @default 16 */
  cellCount?: number;
  /** Rated capacity, Ah. @default 100 */
  capacityAh?: number;
  /** Ambient temperature the cells relax to, °C. @default 25 */
  ambientC?: number;
  /** State of charge at start, %. @default drawn from the seed, 40–70 */
  initialSoc?: number;
  /** What drives the current. @default { kind: "cycle" } */
  load?: LoadSetting;
}

/** The pack's true state (what the registers encode, before rounding to their scale factors). */
export interface PackSnapshot {
  simulatedSeconds: number;
  /** % */
  soc: number;
  /** % */
  soh: number;
  /** A, + charging */
  current: number;
  /** V, sum of the cells */
  packVoltage: number;
  /** V, index = cell position */
  cellVoltages: number[];
  /** °C, one sensor per cell */
  cellTemperatures: number[];
  /** Cells the BMS is balancing (bleeding) now. */
  balancing: boolean[];
  /** Evt1 alarm codes reported now (live warnings and latched alarms), in bit order. */
  alarms: BmsAlarmCode[];
  /** Evt1 bitfield of `alarms`. */
  evt1: number;
  cycles: number;
  /** SunSpec 802 ChaSt value. */
  chargeStatus: number;
  /** SunSpec 802 State value. */
  state: number;
  /** A the BMS allows now. */
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  faults: ResolvedFault[];
}

/** Protection thresholds (bms-protocols.md §6, LFP). */
export const PROTECTION = {
  overTempWarningC: 50,
  overTempAlarmC: 55,
  overVoltWarningV: 3.55,
  overVoltAlarmV: 3.65,
  /** The BMS stops charging here, %. */
  fullSoc: 100,
  /** ...and discharging here. */
  emptySoc: 5,
} as const;

/** Ratings the registers publish. */
export const PACK_RATINGS = {
  nominalCellV: 3.2,
  cellVMax: 3.65,
  cellVMin: 2.5,
  /** Continuous charge current, C-rate. */
  chargeC: 0.5,
  /** Continuous discharge current, C-rate. */
  dischargeC: 1,
} as const;

/** Thermal model of one cell: ~2 kg prismatic, heat capacity ~2 kJ/K, relaxes to ambient over 20 min. */
const HEAT_CAPACITY_J_PER_K = 2000;
const THERMAL_TIME_CONSTANT_S = 1200;
/** Long steps are integrated in pieces no longer than this, so limits and alarms act in time. */
const MAX_SUBSTEP_S = 1;
/** Balancing starts when a cell is this far above the lowest while charging. */
const BALANCE_THRESHOLD_V = 0.015;

interface CellState {
  /** Offset of this cell's SOC from the pack's (capacity mismatch), percentage points. */
  socOffset: number;
  resistanceOhm: number;
  ambientOffsetC: number;
  temperatureC: number;
  /** Extra volts added by a cell-over-voltage fault. */
  faultVoltageV: number;
}

const ALARM_LEVEL: ReadonlySet<BmsAlarmCode> = new Set(["OVER_TEMP_ALARM", "OVER_VOLT_ALARM"]);

/**
 * One LFP pack and its BMS: coulomb counting, OCV + IR cell voltages, I²R heating with relaxation
 * to ambient, threshold alarms, current limits and a contactor that opens on an alarm. Pure: no
 * clock, no I/O; time moves only through step().
 */
export class PackModel {
  readonly cellCount: number;
  readonly capacityAh: number;
  private readonly ambientC: number;
  private readonly random: SeededRandom;
  private readonly load: LoadProfile;
  private readonly cells: CellState[];
  private readonly initialCycles: number;
  private simulatedSeconds = 0;
  private soc: number;
  private current = 0;
  private dischargedAh = 0;
  private activeFaults: ResolvedFault[] = [];
  /** Alarm-level codes stay set until a reset and until their condition has gone. */
  private readonly latched = new Set<BmsAlarmCode>();
  private resetRequested = false;
  private reported: BmsAlarmCode[] = [];

  constructor(options: PackModelOptions = {}) {
    this.cellCount = options.cellCount ?? 16;
    this.capacityAh = options.capacityAh ?? 100;
    this.ambientC = options.ambientC ?? 25;
    if (!Number.isInteger(this.cellCount) || this.cellCount < 1) throw new RangeError(`cellCount must be a positive integer, got ${this.cellCount}`);
    if (!(this.capacityAh > 0)) throw new RangeError(`capacityAh must be positive, got ${this.capacityAh}`);
    this.random = new SeededRandom(options.seed ?? 1);
    this.soc = options.initialSoc ?? this.random.between(40, 70);
    this.initialCycles = Math.floor(this.random.between(50, 400));
    this.cells = Array.from({ length: this.cellCount }, () => {
      const ambientOffsetC = this.random.between(-0.3, 0.3);
      return {
        socOffset: this.random.between(-1, 1),
        resistanceOhm: this.random.between(0.0005, 0.001),
        ambientOffsetC,
        temperatureC: this.ambientC + ambientOffsetC,
        faultVoltageV: 0,
      };
    });
    const load = options.load ?? { kind: "cycle" };
    this.load = load.kind === "cycle" ? new CycleLoadProfile(this.random, this.capacityAh) : new ConstantLoadProfile(load.amps);
    this.evaluateAlarms();
  }

  /** Advances the pack by `dtSeconds` of simulated time. */
  step(dtSeconds: number): void {
    if (!Number.isFinite(dtSeconds) || dtSeconds < 0) throw new RangeError(`step needs a finite, non-negative number of seconds, got ${dtSeconds}`);
    let remaining = dtSeconds;
    while (remaining > 1e-9) {
      const h = Math.min(MAX_SUBSTEP_S, remaining);
      this.substep(h);
      remaining -= h;
    }
  }

  /** Adds a fault; throws InvalidFaultError for a malformed one. Returns it with defaults filled in. */
  injectFault(fault: Fault): ResolvedFault {
    const resolved = resolveFault(fault, this.cellCount);
    this.activeFaults.push(resolved);
    return resolved;
  }

  /**
   * Removes every fault: the physics then recovers on its own (a hot sensor cools with the thermal
   * time constant). Latched alarms stay until requestAlarmReset(), as on a real BMS.
   */
  clearFaults(): void {
    this.activeFaults = [];
    for (const cell of this.cells) cell.faultVoltageV = 0;
    this.evaluateAlarms();
  }

  /** AlmRst: each latched alarm clears as soon as its condition has gone (at once if it already has). */
  requestAlarmReset(): void {
    this.resetRequested = true;
    this.evaluateAlarms();
  }

  snapshot(): PackSnapshot {
    const cellVoltages = this.cellVoltages();
    const minV = Math.min(...cellVoltages);
    const evt1 = alarmsToEvt1(this.reported);
    const limits = this.currentLimits();
    return {
      simulatedSeconds: this.simulatedSeconds,
      soc: this.soc,
      soh: this.soh(),
      current: this.current,
      packVoltage: cellVoltages.reduce((sum, v) => sum + v, 0),
      cellVoltages,
      cellTemperatures: this.cells.map((cell) => cell.temperatureC),
      balancing: cellVoltages.map((v) => this.current > 0 && v - minV > BALANCE_THRESHOLD_V),
      alarms: evt1ToAlarms(evt1),
      evt1,
      cycles: this.initialCycles + Math.floor(this.dischargedAh / this.capacityAh),
      chargeStatus: this.chargeStatus(),
      state: this.contactorOpen()
        ? BATTERY_STATE.FAULT
        : this.soc <= PROTECTION.emptySoc && this.current <= 0
          ? BATTERY_STATE.SOC_PROTECTION
          : BATTERY_STATE.CONNECTED,
      chargeCurrentLimit: limits.charge,
      dischargeCurrentLimit: limits.discharge,
      faults: this.activeFaults.map((fault) => ({ ...fault })),
    };
  }

  private substep(h: number): void {
    const limits = this.currentLimits();
    const requested = this.load.request(this.soc, h);
    const allowed = Math.min(limits.charge, Math.max(-limits.discharge, requested));
    this.current = allowed === 0 ? 0 : allowed; // no -0 in snapshots

    this.soc = Math.min(100, Math.max(0, this.soc + ((this.current * h) / 3600 / this.capacityAh) * 100));
    if (this.current < 0) this.dischargedAh += (-this.current * h) / 3600;

    const relax = Math.exp(-h / THERMAL_TIME_CONSTANT_S);
    for (const cell of this.cells) {
      const heatW = this.current * this.current * cell.resistanceOhm;
      const steadyC = this.ambientC + cell.ambientOffsetC + (heatW * THERMAL_TIME_CONSTANT_S) / HEAT_CAPACITY_J_PER_K;
      cell.temperatureC = steadyC + (cell.temperatureC - steadyC) * relax;
    }
    for (const fault of this.activeFaults) this.applyFault(fault, h);
    this.simulatedSeconds += h;
    this.evaluateAlarms();
  }

  private applyFault(fault: ResolvedFault, h: number): void {
    if (fault.kind === "over-temperature") {
      const cell = this.cells[fault.sensor];
      if (cell && cell.temperatureC < fault.maxC) cell.temperatureC = Math.min(fault.maxC, cell.temperatureC + fault.ratePerSecond * h);
      return;
    }
    const cell = this.cells[fault.cell];
    if (!cell) return;
    const base = this.cellVoltage(cell, 0);
    cell.faultVoltageV = Math.max(0, Math.min(cell.faultVoltageV + fault.ratePerSecond * h, fault.maxV - base));
  }

  private cellVoltage(cell: CellState, faultVoltageV = cell.faultVoltageV): number {
    return lfpOpenCircuitVoltage(this.soc + cell.socOffset) + this.current * cell.resistanceOhm + faultVoltageV;
  }

  private cellVoltages(): number[] {
    return this.cells.map((cell) => this.cellVoltage(cell));
  }

  private evaluateAlarms(): void {
    const maxT = Math.max(...this.cells.map((cell) => cell.temperatureC));
    const maxV = Math.max(...this.cellVoltages());
    const active = new Set<BmsAlarmCode>();
    if (maxT >= PROTECTION.overTempWarningC) active.add("OVER_TEMP_WARNING");
    if (maxT >= PROTECTION.overTempAlarmC) active.add("OVER_TEMP_ALARM");
    if (maxV >= PROTECTION.overVoltWarningV) active.add("OVER_VOLT_WARNING");
    if (maxV >= PROTECTION.overVoltAlarmV) active.add("OVER_VOLT_ALARM");
    for (const code of active) if (ALARM_LEVEL.has(code)) this.latched.add(code);
    if (this.resetRequested) {
      for (const code of [...this.latched]) if (!active.has(code)) this.latched.delete(code);
      if (this.latched.size === 0) this.resetRequested = false;
    }
    const warnings = [...active].filter((code) => !ALARM_LEVEL.has(code));
    this.reported = [...warnings, ...this.latched];
  }

  /** The contactor opens on any latched alarm and stays open until the alarm is reset. */
  private contactorOpen(): boolean {
    return this.latched.size > 0;
  }

  private currentLimits(): { charge: number; discharge: number } {
    if (this.contactorOpen()) return { charge: 0, discharge: 0 };
    const derate = this.reported.includes("OVER_TEMP_WARNING") ? 0.5 : 1;
    const fullOrHigh = this.soc >= PROTECTION.fullSoc || this.reported.includes("OVER_VOLT_WARNING");
    return {
      charge: fullOrHigh ? 0 : this.capacityAh * PACK_RATINGS.chargeC * derate,
      discharge: this.soc <= PROTECTION.emptySoc ? 0 : this.capacityAh * PACK_RATINGS.dischargeC * derate,
    };
  }

  private chargeStatus(): number {
    if (this.contactorOpen()) return CHARGE_STATUS.OFF;
    if (this.current > 0.5) return CHARGE_STATUS.CHARGING;
    if (this.current < -0.5) return CHARGE_STATUS.DISCHARGING;
    if (this.soc >= 99) return CHARGE_STATUS.FULL;
    if (this.soc <= PROTECTION.emptySoc + 0.5) return CHARGE_STATUS.EMPTY;
    return CHARGE_STATUS.HOLDING;
  }

  private soh(): number {
    const cycles = this.initialCycles + this.dischargedAh / this.capacityAh;
    return Math.max(60, 100 - cycles * 0.01);
  }
}
