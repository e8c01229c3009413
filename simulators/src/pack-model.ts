import { alarmsToEvt1, type BmsAlarmCode, evt1ToAlarms, parseConfig } from "@bms/shared";
import { BATTERY_STATE, CHARGE_STATUS } from "@bms/shared/sunspec/models";
import { type Fault, type ResolvedFault, resolveFault } from "./faults";
import { createLoadProfile, type LoadProfile } from "./load-profile";
import { type ProtectionConditions, ProtectionLatch, type ProtectionName } from "./model/bms-protection";
import { cellResistance, selfDischargePctPerSecond } from "./model/cell-resistance";
import { CHEMISTRY, type Chemistry, type ChemistryParameters, COMMON_LIMITS } from "./model/chemistry";
import { openCircuitVoltage } from "./model/open-circuit-voltage";
import { type PackModelOptions, PackModelOptionsSchema, type Topology } from "./model/pack-model-options";
import { ThermalNetwork, thermalParametersFor } from "./model/thermal-network";
import { deriveSeed, SeededRandom } from "./seeded-random";
import type { LinkCondition } from "./simulated-device";

export type { PackModelOptions, ResolvedPackModelOptions, Topology } from "./model/pack-model-options";
export { PackModelOptionsSchema, TopologySchema } from "./model/pack-model-options";

/** What the registers and frames publish as the pack's ratings (chemistry and size dependent). */
export interface PackRatings {
  chemistry: Chemistry;
  nominalCellV: number;
  /** Cell over-/under-voltage alarm thresholds (SunSpec 802 VMax/VMin ÷ cells in series). */
  cellVMax: number;
  cellVMin: number;
  /** Continuous ratings, C. */
  chargeC: number;
  dischargeC: number;
  /** Rated pack capacity (one string × strings), Ah. */
  capacityAh: number;
  cellsInSeries: number;
}

/** The pack as its BMS reports it, plus the true state behind it (for tests and encoders of the true values). */
export interface PackSnapshot {
  simulatedSeconds: number;
  chemistry: Chemistry;
  topology: Topology;
  ratings: PackRatings;
  /** %, as the BMS reports it (coulomb counting, recalibrated at full/empty). */
  soc: number;
  /** %, the true SOC (mean of the cells). */
  trueSoc: number;
  /** %, as the BMS estimates it. */
  soh: number;
  /** %, true: usable capacity (weakest cell of each string) ÷ rated. */
  trueSoh: number;
  /** Ah left as the BMS reports it. */
  remainingCapacityAh: number;
  /** A, + charging (0 while the contactor is open). */
  current: number;
  /** A per string, + charging. */
  stringCurrents: number[];
  /** V at the terminals (strings are in parallel: the mean of their sums of cell voltages). */
  packVoltage: number;
  /** V per cell as the BMS measures it, flattened string → module → cell. */
  cellVoltages: number[];
  /** °C per cell sensor as the BMS reads it (a failed sensor reads what it reads). */
  cellTemperatures: number[];
  /** %, true SOC per cell. */
  cellSocs: number[];
  /** Ah, true capacity per cell (with spread and fade). */
  cellCapacitiesAh: number[];
  /** Cells the BMS is bleeding now. */
  balancing: boolean[];
  /** Evt1 alarm codes reported now (live warnings and latched alarms), in bit order. */
  alarms: BmsAlarmCode[];
  /** Evt1 bitfield of `alarms`. */
  evt1: number;
  /** Protections tripped and latched now (the contactor is open while any is). */
  trips: ProtectionName[];
  contactorClosed: boolean;
  cycles: number;
  /** SunSpec 802 ChaSt value. */
  chargeStatus: number;
  /** SunSpec 802 State value. */
  state: number;
  /** A the BMS allows now (both ≥ 0). */
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  /** V, pack charge / discharge voltage limits (CAN 0x351). */
  chargeVoltageLimit: number;
  dischargeVoltageLimit: number;
  /** kΩ, only when the BMS measures insulation. */
  insulationResistanceKOhm?: number;
  faults: ResolvedFault[];
}

/** LFP protection thresholds of the first simulator (see CHEMISTRY for both chemistries). */
export const PROTECTION = {
  overTempWarningC: CHEMISTRY.LFP.overTempWarningC,
  overTempAlarmC: CHEMISTRY.LFP.overTempAlarmC,
  overVoltWarningV: CHEMISTRY.LFP.overVoltWarningV,
  overVoltAlarmV: CHEMISTRY.LFP.overVoltAlarmV,
  fullSoc: COMMON_LIMITS.fullSoc,
  emptySoc: COMMON_LIMITS.emptySoc,
} as const;

/** LFP ratings of the first simulator; use `snapshot().ratings` for the pack's own. */
export const PACK_RATINGS = {
  nominalCellV: CHEMISTRY.LFP.nominalCellV,
  cellVMax: CHEMISTRY.LFP.overVoltAlarmV,
  cellVMin: CHEMISTRY.LFP.underVoltAlarmV,
  chargeC: CHEMISTRY.LFP.chargeC,
  dischargeC: CHEMISTRY.LFP.dischargeC,
} as const;

/** Long steps are integrated in pieces no longer than this, so limits and trips act in time. */
const MAX_SUBSTEP_S = 1;
/** Balancing bleeds a cell this far above the lowest of its string. */
const BALANCE_THRESHOLD_V = 0.015;
/** The BMS declares full/empty this close to the stop voltage (the taper approaches it asymptotically). */
const STOP_MARGIN_V = 0.003;
/** Sensor readings of failed sensors. */
const OPEN_SENSOR_C = -40;
const SHORTED_SENSOR_C = 125;

interface ActiveFault {
  fault: ResolvedFault;
  injectedAt: number;
  /** Volts a cell-over-voltage fault has added / a cell-under-voltage fault sags under load. */
  volts: number;
  /** Reading a stuck sensor keeps; temperature at onset of a runaway precursor. */
  heldC: number | undefined;
}

/** Per-cell effects of the active faults in one sub-step. */
interface FaultEffects {
  capacityFactor: number[];
  resistanceFactor: number[];
  leakA: number[];
  spikeA: number | undefined;
  forced: Set<ProtectionName>;
}

/**
 * One battery pack and its BMS. Cells (capacity spread, SOC, internal resistance, self-discharge,
 * temperature in a lumped thermal network) in series modules and parallel strings; the BMS limits
 * current, balances, trips protections (contactor open, latched Evt1 alarms) and estimates SOC and
 * SOH. Pure and deterministic: no clock, no I/O, randomness only from the seed; time moves only
 * through step().
 */
export class PackModel {
  /** Cells in the pack (all strings). */
  readonly cellCount: number;
  /** Rated pack capacity, Ah (one string × strings). */
  readonly capacityAh: number;
  readonly chemistry: Chemistry;
  readonly topology: Topology;
  private readonly params: ChemistryParameters;
  private readonly cellsPerString: number;
  private readonly ambientC: number;
  private readonly ratedCharge: number;
  private readonly ratedDischarge: number;
  private readonly balanceCurrentA: number;
  private readonly reportsInsulation: boolean;
  private readonly healthyInsulationKOhm: number;
  private readonly sensorOffsetA: number;
  private readonly load: LoadProfile;
  private readonly linkStream: SeededRandom;
  private readonly thermal: ThermalNetwork;
  private readonly initialCycles: number;
  // Per cell, flattened string → module → cell.
  private readonly capacity: number[];
  private readonly soc: number[];
  private readonly r25: number[];
  private readonly ambient: number[];
  private readonly temperature: number[];
  private readonly selfDischargePctPerMonth: number[];
  private readonly heat: number[];
  private readonly ocv: number[];
  private readonly resistance: number[];
  private readonly bleeding: boolean[];
  private voltages: number[];
  private sensors: number[];
  private stringCurrents: number[];
  private simulatedSeconds = 0;
  private current = 0;
  private dischargedAh = 0;
  private bmsSoc: number;
  private bmsSoh: number;
  private full = false;
  private empty = false;
  /** Ah counted since the BMS last calibrated at empty (for learning capacity at the next full). */
  private countedSinceEmpty: number | undefined;
  private insulationKOhm: number;
  private faults: ActiveFault[] = [];
  private readonly protection = new ProtectionLatch();
  private effects: FaultEffects;

  /** Throws ConfigError (from @bms/shared) naming every invalid option. */
  constructor(options: PackModelOptions = {}) {
    const opts = parseConfig(PackModelOptionsSchema, options, "pack model options");
    this.topology =
      options.topology === undefined && opts.cellCount !== undefined ? { strings: 1, modulesPerString: 1, cellsPerModule: opts.cellCount } : opts.topology;
    const t = this.topology;
    this.cellsPerString = t.modulesPerString * t.cellsPerModule;
    this.cellCount = t.strings * this.cellsPerString;
    this.chemistry = opts.chemistry;
    this.params = CHEMISTRY[opts.chemistry];
    this.capacityAh = opts.capacityAh * t.strings;
    this.ratedCharge = this.capacityAh * this.params.chargeC;
    this.ratedDischarge = this.capacityAh * this.params.dischargeC;
    this.ambientC = opts.ambientC;
    this.balanceCurrentA = opts.balanceCurrentA;
    this.reportsInsulation = opts.reportsInsulation;

    // Every draw is made whether or not its option is given, so setting one option never shifts the others.
    const setup = new SeededRandom(opts.seed);
    const drawnSoc = setup.between(40, 70);
    const drawnCycles = Math.floor(setup.between(50, 400));
    const sohBias = setup.next();
    const drawnOffset = setup.between(-0.2, 0.2);
    const drawnInsulation = setup.between(10_000, 50_000);
    const bmsSohBias = setup.between(-0.5, 0.5);
    this.initialCycles = opts.cycles ?? drawnCycles;
    const soh = opts.soh ?? Math.max(60, 100 - 0.01 * this.initialCycles - 0.5 * sohBias);
    this.sensorOffsetA = opts.currentSensorOffsetA ?? drawnOffset;
    this.healthyInsulationKOhm = opts.insulationKOhm ?? drawnInsulation;
    this.insulationKOhm = this.healthyInsulationKOhm;
    const initialSoc = opts.initialSoc ?? drawnSoc;
    const selfDischarge = opts.selfDischargePctPerMonth ?? this.params.selfDischargePctPerMonth;
    const n = this.cellCount;
    this.capacity = [];
    this.soc = [];
    this.r25 = [];
    this.ambient = [];
    this.selfDischargePctPerMonth = [];
    for (let i = 0; i < n; i++) {
      this.capacity.push(opts.capacityAh * (soh / 100) * (1 + (opts.capacitySpreadPct / 100) * setup.between(-1, 1)));
      this.soc.push(Math.min(100, Math.max(0, initialSoc + opts.socSpreadPct * setup.between(-1, 1))));
      // 0.5–1 mΩ for a 100 Ah cell; smaller cells have proportionally more.
      this.r25.push(setup.between(0.0005, 0.001) * (100 / opts.capacityAh));
      this.ambient.push(this.ambientC + setup.between(-0.3, 0.3));
      this.selfDischargePctPerMonth.push(selfDischarge * setup.between(0.8, 1.2));
    }
    this.temperature = [...this.ambient];
    this.heat = new Array<number>(n).fill(0);
    this.ocv = new Array<number>(n).fill(0);
    this.resistance = new Array<number>(n).fill(0);
    this.bleeding = new Array<boolean>(n).fill(false);
    this.voltages = new Array<number>(n).fill(0);
    this.sensors = [...this.temperature];
    this.stringCurrents = new Array<number>(t.strings).fill(0);
    this.thermal = new ThermalNetwork(thermalParametersFor(opts.capacityAh), t.cellsPerModule, n);
    this.load = createLoadProfile(opts.load, this.capacityAh, opts.startHour, new SeededRandom(deriveSeed(opts.seed, 1)));
    this.linkStream = new SeededRandom(deriveSeed(opts.seed, 2));
    this.effects = this.emptyEffects();
    this.bmsSoc = this.meanSoc();
    this.bmsSoh = Math.min(100, this.trueSoh() + bmsSohBias);
    this.measure(0);
  }

  /** Advances the pack by `dtSeconds` of simulated time, in sub-steps of at most 1 s. */
  step(dtSeconds: number): void {
    if (!Number.isFinite(dtSeconds) || dtSeconds < 0) throw new RangeError(`step needs a finite, non-negative number of seconds, got ${dtSeconds}`);
    let remaining = dtSeconds;
    while (remaining > 1e-9) {
      const h = Math.min(MAX_SUBSTEP_S, this.thermal.maxStableStep(), remaining);
      this.substep(h);
      remaining -= h;
    }
  }

  /** Adds a fault; throws InvalidFaultError for a malformed one. Returns it with defaults filled in. */
  injectFault(fault: Fault): ResolvedFault {
    const resolved = resolveFault(fault, this.cellCount);
    this.faults.push({ fault: resolved, injectedAt: this.simulatedSeconds, volts: 0, heldC: undefined });
    this.effects = this.computeEffects();
    this.measure(0);
    return resolved;
  }

  /**
   * Removes every fault: the physics then recovers on its own (a hot cell cools with its thermal
   * time constant, a drained cell stays drained). Latched alarms stay until resetAlarms(), as on a real BMS.
   */
  clearFaults(): void {
    this.faults = [];
    this.effects = this.emptyEffects();
    this.measure(0);
  }

  /** AlmRst: each latched alarm clears as soon as its condition has gone (at once if it already has). */
  resetAlarms(): void {
    this.protection.requestReset();
  }

  /** Same as resetAlarms() (the first simulator's name). */
  requestAlarmReset(): void {
    this.resetAlarms();
  }

  /** How the device's link behaves now (communication-loss and garbled-link faults). */
  link(): LinkCondition {
    let garbled: LinkCondition | undefined;
    for (const active of this.faults) {
      const f = active.fault;
      if (f.kind !== "communication-loss" && f.kind !== "garbled-link") continue;
      const t = this.elapsed(active);
      if (t < 0 || (f.durationS !== undefined && t >= f.durationS)) continue;
      if (f.kind === "communication-loss") return { kind: "silent" };
      garbled ??= { kind: "garbled", crcErrorRate: f.crcErrorRate, truncateRate: f.truncateRate, wrongUnitRate: f.wrongUnitRate };
    }
    return garbled ?? { kind: "ok" };
  }

  /** A draw in [0, 1) from the pack's own link stream (for protocol servers playing a garbled link). */
  linkRandom(): number {
    return this.linkStream.next();
  }

  snapshot(): PackSnapshot {
    const evt1 = alarmsToEvt1(this.protection.reported());
    const limits = this.currentLimits();
    const tripped = this.protection.isTripped();
    const soc = Math.min(100, Math.max(0, this.bmsSoc));
    const series = this.cellsPerString;
    const insulation = this.reportsInsulation || this.faults.some((a) => a.fault.kind === "insulation-fault");
    return {
      simulatedSeconds: this.simulatedSeconds,
      chemistry: this.chemistry,
      topology: { ...this.topology },
      ratings: {
        chemistry: this.chemistry,
        nominalCellV: this.params.nominalCellV,
        cellVMax: this.params.overVoltAlarmV,
        cellVMin: this.params.underVoltAlarmV,
        chargeC: this.params.chargeC,
        dischargeC: this.params.dischargeC,
        capacityAh: this.capacityAh,
        cellsInSeries: series,
      },
      soc,
      trueSoc: this.meanSoc(),
      soh: this.bmsSoh,
      trueSoh: this.trueSoh(),
      remainingCapacityAh: (soc / 100) * this.capacityAh * (this.bmsSoh / 100),
      current: this.current,
      stringCurrents: [...this.stringCurrents],
      packVoltage: this.packVoltage(),
      cellVoltages: [...this.voltages],
      cellTemperatures: [...this.sensors],
      cellSocs: [...this.soc],
      cellCapacitiesAh: this.capacity.map((c, i) => c * (this.effects.capacityFactor[i] ?? 1)),
      balancing: [...this.bleeding],
      alarms: evt1ToAlarms(evt1),
      evt1,
      trips: this.protection.trips(),
      contactorClosed: !tripped,
      cycles: this.initialCycles + Math.floor(this.dischargedAh / this.capacityAh),
      chargeStatus: this.chargeStatus(tripped),
      state: tripped ? BATTERY_STATE.FAULT : this.empty && this.current <= 0 ? BATTERY_STATE.SOC_PROTECTION : BATTERY_STATE.CONNECTED,
      chargeCurrentLimit: limits.charge,
      dischargeCurrentLimit: limits.discharge,
      chargeVoltageLimit: this.params.chargeStopV * series,
      dischargeVoltageLimit: this.params.dischargeLimitV * series,
      ...(insulation ? { insulationResistanceKOhm: this.insulationKOhm } : {}),
      faults: this.faults.map((active) => ({ ...active.fault })),
    };
  }

  // ---- one sub-step -------------------------------------------------------------------------

  private substep(h: number): void {
    const n = this.cellCount;
    this.effects = this.computeEffects();
    const fx = this.effects;

    // The load asks, the BMS allows (a spike is a fault in the load: it ignores the limits until the contactor opens).
    const limits = this.currentLimits();
    const requested = this.load.request(this.bmsSoc, h, this.simulatedSeconds);
    let current = fx.spikeA ?? Math.min(limits.charge, Math.max(-limits.discharge, requested));
    if (this.protection.isTripped()) current = 0;
    this.current = current === 0 ? 0 : current; // no -0 in snapshots
    this.splitBetweenStrings();

    // Charge, self-discharge, leaks, bleeding; heat.
    for (let i = 0; i < n; i++) {
      const stringA = this.stringCurrents[Math.floor(i / this.cellsPerString)] ?? 0;
      const temp = this.temperature[i] ?? 0;
      const soc = this.soc[i] ?? 0;
      const r = this.resistance[i] ?? 0;
      const bleedA = this.bleeding[i] ? this.balanceCurrentA : 0;
      const leakA = fx.leakA[i] ?? 0;
      const capacity = (this.capacity[i] ?? 1) * (fx.capacityFactor[i] ?? 1);
      const selfPct = selfDischargePctPerSecond(this.selfDischargePctPerMonth[i] ?? 0, temp) * h;
      const next = soc + (((stringA - bleedA - leakA) * h) / 3600 / capacity) * 100 - selfPct;
      this.soc[i] = Math.min(110, Math.max(-10, next));
      const cellV = this.ocv[i] ?? 0;
      this.heat[i] = stringA * stringA * r + (bleedA + leakA) * cellV;
    }
    this.thermal.step(this.temperature, this.ambient, this.heat, h);
    this.applyTemperatureAndVoltageFaults(h);
    if (this.current < 0) this.dischargedAh += (-this.current * h) / 3600;
    this.simulatedSeconds += h;

    this.estimateSoc(h);
    this.measure(h);
    this.decideBalancing();
  }

  /** Parallel strings share the terminal voltage: I_s = (V − OCV_s) / R_s with ΣI_s = I. */
  private splitBetweenStrings(): void {
    const strings = this.topology.strings;
    this.refreshCellParameters();
    if (strings === 1) {
      this.stringCurrents[0] = this.current;
      return;
    }
    let conductance = 0;
    let weighted = 0;
    const ocvs: number[] = [];
    const rs: number[] = [];
    for (let s = 0; s < strings; s++) {
      let ocv = 0;
      let r = 0;
      for (let i = s * this.cellsPerString; i < (s + 1) * this.cellsPerString; i++) {
        ocv += this.ocv[i] ?? 0;
        r += this.resistance[i] ?? 0;
      }
      ocvs.push(ocv);
      rs.push(r);
      conductance += 1 / r;
      weighted += ocv / r;
    }
    const terminal = (this.current + weighted) / conductance;
    for (let s = 0; s < strings; s++) this.stringCurrents[s] = (terminal - (ocvs[s] ?? 0)) / (rs[s] ?? 1);
  }

  private refreshCellParameters(): void {
    for (let i = 0; i < this.cellCount; i++) {
      const soc = this.soc[i] ?? 0;
      this.ocv[i] = openCircuitVoltage(this.chemistry, soc);
      this.resistance[i] = cellResistance(this.r25[i] ?? 0, this.temperature[i] ?? 0, soc) * (this.effects.resistanceFactor[i] ?? 1);
    }
  }

  // ---- faults -------------------------------------------------------------------------------

  /** Simulated seconds the fault has been acting (negative before its start). */
  private elapsed(active: ActiveFault): number {
    return this.simulatedSeconds - active.injectedAt - (active.fault.startAfterS ?? 0);
  }

  private emptyEffects(): FaultEffects {
    const n = this.cellCount;
    return {
      capacityFactor: new Array<number>(n).fill(1),
      resistanceFactor: new Array<number>(n).fill(1),
      leakA: new Array<number>(n).fill(0),
      spikeA: undefined,
      forced: new Set(),
    };
  }

  /** Effects that follow from the faults and the time alone (no state of their own). */
  private computeEffects(): FaultEffects {
    const fx = this.emptyEffects();
    let insulation = this.healthyInsulationKOhm;
    for (const active of this.faults) {
      const f = active.fault;
      const t = this.elapsed(active);
      if (t < 0) continue;
      switch (f.kind) {
        case "weak-cell": {
          const ramp = f.rampS > 0 ? Math.min(1, t / f.rampS) : 1;
          fx.capacityFactor[f.cell] = (fx.capacityFactor[f.cell] ?? 1) * (1 - ramp * (1 - f.capacityFraction));
          fx.resistanceFactor[f.cell] = (fx.resistanceFactor[f.cell] ?? 1) * (1 + ramp * (f.resistanceFactor - 1));
          break;
        }
        case "internal-short":
          fx.leakA[f.cell] = (fx.leakA[f.cell] ?? 0) + f.leakageA * (f.rampS > 0 ? Math.min(1, t / f.rampS) : 1);
          break;
        case "over-current-spike":
          if (t < f.durationS) fx.spikeA = (f.direction === "charge" ? 1 : -1) * f.cRate * this.capacityAh;
          break;
        case "bms-protection-trip":
          if (t < f.durationS) fx.forced.add(f.protection);
          break;
        case "insulation-fault": {
          const floor = Math.max(f.floorKOhm, 1e-3);
          const ramp = f.rampS > 0 ? Math.min(1, t / f.rampS) : 1;
          insulation = Math.min(insulation, this.healthyInsulationKOhm * (floor / this.healthyInsulationKOhm) ** ramp);
          break;
        }
        default:
          break;
      }
    }
    this.insulationKOhm = insulation;
    return fx;
  }

  /** Faults that change the cells' temperature or add volts: they integrate over time. */
  private applyTemperatureAndVoltageFaults(h: number): void {
    for (const active of this.faults) {
      const f = active.fault;
      const t = this.elapsed(active) + h; // time at the end of this sub-step
      if (t <= 0) continue;
      const dt = Math.min(h, t);
      switch (f.kind) {
        case "over-temperature": {
          const cells = f.scope === "pack" ? this.temperature.map((_, i) => i) : [f.sensor];
          for (const i of cells) {
            const temp = this.temperature[i] ?? 0;
            if (temp < f.maxC) this.temperature[i] = Math.min(f.maxC, temp + f.ratePerSecond * dt);
          }
          break;
        }
        case "thermal-runaway-precursor": {
          const temp = this.temperature[f.cell] ?? 0;
          active.heldC ??= temp;
          const rate = f.initialRatePerSecond * 2 ** (t / f.doublingTimeS);
          if (temp < f.maxC) this.temperature[f.cell] = Math.min(f.maxC, temp + rate * dt);
          break;
        }
        case "cell-over-voltage":
          if (!f.whileCharging || this.current > 0) active.volts += f.ratePerSecond * dt;
          break;
        case "cell-under-voltage":
          if (this.current < 0) active.volts += f.ratePerSecond * dt;
          break;
        default:
          break;
      }
    }
  }

  // ---- what the BMS measures and decides ----------------------------------------------------

  /** Cell voltages and sensor readings as the BMS sees them now; re-evaluates the protections. */
  private measure(h: number): void {
    this.refreshCellParameters();
    const n = this.cellCount;
    const voltages = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const stringA = this.stringCurrents[Math.floor(i / this.cellsPerString)] ?? 0;
      voltages[i] = (this.ocv[i] ?? 0) + stringA * (this.resistance[i] ?? 0);
    }
    const sensors = [...this.temperature];
    for (const active of this.faults) {
      const f = active.fault;
      const started = this.elapsed(active) >= 0;
      if (f.kind === "cell-over-voltage") {
        const base = voltages[f.cell] ?? 0;
        active.volts = Math.max(0, Math.min(active.volts, f.maxV - base));
        voltages[f.cell] = base + active.volts;
      } else if (f.kind === "cell-under-voltage") {
        const base = voltages[f.cell] ?? 0;
        active.volts = Math.max(0, Math.min(active.volts, base - f.minV));
        // A high-resistance cell sags under load and recovers at rest.
        if (this.current < 0) voltages[f.cell] = base - active.volts;
      } else if (f.kind === "thermal-runaway-precursor" && active.heldC !== undefined) {
        const rise = Math.max(0, (this.temperature[f.cell] ?? 0) - active.heldC);
        voltages[f.cell] = (voltages[f.cell] ?? 0) - Math.min(1.5, rise * f.voltageDipPerC);
      } else if (f.kind === "temperature-sensor-failure" && started) {
        if (f.mode === "open") sensors[f.sensor] = OPEN_SENSOR_C;
        else if (f.mode === "shorted") sensors[f.sensor] = SHORTED_SENSOR_C;
        else {
          active.heldC ??= this.sensors[f.sensor] ?? this.temperature[f.sensor] ?? 0;
          sensors[f.sensor] = active.heldC;
        }
      }
    }
    this.voltages = voltages;
    this.sensors = sensors;
    this.protection.update(this.conditions(), h);
  }

  private conditions(): ProtectionConditions {
    const p = this.params;
    const maxV = Math.max(...this.voltages);
    const minV = Math.min(...this.voltages);
    const maxT = Math.max(...this.sensors);
    const minT = Math.min(...this.sensors);
    const iso = this.insulationKOhm;
    const forced = this.effects.forced;
    const chargeA = this.current;
    const dischargeA = -this.current;
    const extraWarnings: BmsAlarmCode[] = [];
    const imbalanceV = Math.min(COMMON_LIMITS.voltageImbalanceFraction * p.overVoltAlarmV, COMMON_LIMITS.voltageImbalanceMaxV);
    if (maxV - minV > imbalanceV) extraWarnings.push("VOLTAGE_IMBALANCE_WARNING");
    if (maxT - minT > COMMON_LIMITS.temperatureImbalanceWarningC) extraWarnings.push("TEMPERATURE_IMBALANCE_WARNING");
    if (minT < COMMON_LIMITS.plausibleMinC || maxT > COMMON_LIMITS.plausibleMaxC) extraWarnings.push("OTHER_WARNING");
    const w = COMMON_LIMITS.overCurrentWarningFactor;
    const a = COMMON_LIMITS.overCurrentAlarmFactor;
    return {
      warning: {
        "over-voltage": maxV >= p.overVoltWarningV,
        "under-voltage": minV <= p.underVoltWarningV,
        "over-temperature": maxT >= p.overTempWarningC,
        "under-temperature": minT <= p.underTempWarningC,
        "over-charge-current": chargeA > this.ratedCharge * w,
        "over-discharge-current": dischargeA > this.ratedDischarge * w,
        insulation: iso < COMMON_LIMITS.insulationWarningKOhm,
      },
      alarm: {
        "over-voltage": maxV >= p.overVoltAlarmV || forced.has("over-voltage"),
        "under-voltage": minV <= p.underVoltAlarmV || forced.has("under-voltage"),
        "over-temperature": maxT >= p.overTempAlarmC || forced.has("over-temperature"),
        "under-temperature": minT <= p.underTempAlarmC || forced.has("under-temperature"),
        "over-charge-current": chargeA > this.ratedCharge * a || forced.has("over-charge-current"),
        "over-discharge-current": dischargeA > this.ratedDischarge * a || forced.has("over-discharge-current"),
        insulation: iso < COMMON_LIMITS.insulationAlarmKOhm || forced.has("insulation"),
      },
      extraWarnings,
      temperatureImbalanceAlarm: maxT - minT > COMMON_LIMITS.temperatureImbalanceAlarmC,
    };
  }

  /** Coulomb counting with the current sensor's offset; recalibration at full and empty; SOH learnt from a full empty→full pass. */
  private estimateSoc(h: number): void {
    const measuredA = this.current === 0 ? 0 : this.current + this.sensorOffsetA; // the sensor reads 0 with the contactor open
    const countedAh = (measuredA * h) / 3600;
    const estimatedAh = this.capacityAh * (this.bmsSoh / 100);
    this.bmsSoc = Math.min(100, Math.max(0, this.bmsSoc + (countedAh / estimatedAh) * 100));
    if (this.countedSinceEmpty !== undefined) this.countedSinceEmpty += countedAh;

    const p = this.params;
    const maxOcv = Math.max(...this.ocv);
    const minOcv = Math.min(...this.ocv);
    if (!this.full && (maxOcv >= p.chargeStopV - STOP_MARGIN_V || this.bmsSoc >= COMMON_LIMITS.fullSoc)) {
      this.full = true;
      this.bmsSoc = COMMON_LIMITS.fullSoc;
      if (this.countedSinceEmpty !== undefined) {
        const learnt = (this.countedSinceEmpty / (this.capacityAh * ((COMMON_LIMITS.fullSoc - COMMON_LIMITS.emptySoc) / 100))) * 100;
        this.bmsSoh = Math.min(100, Math.max(10, (this.bmsSoh + learnt) / 2));
        this.countedSinceEmpty = undefined;
      }
    } else if (this.full && this.bmsSoc < COMMON_LIMITS.fullResumeSoc) this.full = false;
    if (!this.empty && (minOcv <= p.dischargeStopV + STOP_MARGIN_V || this.bmsSoc <= COMMON_LIMITS.emptySoc)) {
      this.empty = true;
      if (minOcv <= p.dischargeStopV + STOP_MARGIN_V) {
        this.bmsSoc = Math.min(this.bmsSoc, COMMON_LIMITS.emptySoc);
        this.countedSinceEmpty = 0;
      }
    } else if (this.empty && this.bmsSoc > COMMON_LIMITS.emptyResumeSoc) this.empty = false;
  }

  /** Passive balancing near the top of charge: bleed cells above the lowest of their string. */
  private decideBalancing(): void {
    const n = this.cellCount;
    const near = !this.protection.isTripped() && this.current >= -0.5 && Math.max(...this.voltages) >= this.params.balanceStartV;
    for (let s = 0; s < this.topology.strings; s++) {
      const from = s * this.cellsPerString;
      const to = Math.min(n, from + this.cellsPerString);
      let minV = Number.POSITIVE_INFINITY;
      for (let i = from; i < to; i++) minV = Math.min(minV, this.voltages[i] ?? minV);
      for (let i = from; i < to; i++) this.bleeding[i] = near && (this.voltages[i] ?? 0) - minV > BALANCE_THRESHOLD_V;
    }
  }

  private currentLimits(): { charge: number; discharge: number } {
    if (this.protection.isTripped()) return { charge: 0, discharge: 0 };
    const p = this.params;
    const reported = this.protection.reported();
    const maxT = Math.max(...this.sensors);
    const minT = Math.min(...this.sensors);
    const hot = reported.includes("OVER_TEMP_WARNING") ? 0.5 : 1;
    const cold = reported.includes("UNDER_TEMP_WARNING") ? 0.5 : 1;
    let charge = this.ratedCharge * hot;
    if (minT < p.chargeMinC || maxT > p.chargeMaxC) charge = 0;
    else if (minT < p.chargeMinC + 5) charge *= (minT - p.chargeMinC) / 5;
    const maxOcv = Math.max(...this.ocv);
    const minOcv = Math.min(...this.ocv);
    charge *= Math.min(1, Math.max(0, (p.chargeStopV - maxOcv) / p.taperV));
    if (this.full || reported.includes("OVER_VOLT_WARNING")) charge = 0;
    // A sagging cell under load halves the discharge allowance; its rested voltage (the taper) stops it.
    const sagging = reported.includes("UNDER_VOLT_WARNING") ? 0.5 : 1;
    let discharge = this.ratedDischarge * hot * cold * sagging;
    discharge *= Math.min(1, Math.max(0, (minOcv - p.dischargeStopV) / p.taperV));
    if (this.empty) discharge = 0;
    return { charge, discharge };
  }

  private chargeStatus(tripped: boolean): number {
    if (tripped) return CHARGE_STATUS.OFF;
    if (this.current > 0.5) return CHARGE_STATUS.CHARGING;
    if (this.current < -0.5) return CHARGE_STATUS.DISCHARGING;
    if (this.full || this.bmsSoc >= 99) return CHARGE_STATUS.FULL;
    if (this.empty || this.bmsSoc <= COMMON_LIMITS.emptySoc + 0.5) return CHARGE_STATUS.EMPTY;
    return CHARGE_STATUS.HOLDING;
  }

  private packVoltage(): number {
    let sum = 0;
    for (const v of this.voltages) sum += v;
    return sum / this.topology.strings;
  }

  private meanSoc(): number {
    let sum = 0;
    for (const s of this.soc) sum += s;
    return sum / this.cellCount;
  }

  /** Usable capacity (the weakest cell of each string) ÷ rated, %. */
  private trueSoh(): number {
    let usable = 0;
    for (let s = 0; s < this.topology.strings; s++) {
      let weakest = Number.POSITIVE_INFINITY;
      for (let i = s * this.cellsPerString; i < (s + 1) * this.cellsPerString; i++) {
        weakest = Math.min(weakest, (this.capacity[i] ?? 0) * (this.effects.capacityFactor[i] ?? 1));
      }
      usable += weakest;
    }
    return (usable / this.capacityAh) * 100;
  }
}
