import { alarmsToEvt1, evt1ToAlarms, parseConfig } from "@bms/shared";
import { BATTERY_STATE, CHARGE_STATUS } from "@bms/shared/sunspec/models";
import { type Fault, type ResolvedFault, resolveFault } from "./faults";
import { ActiveFaults, type FaultEffects } from "./faults/active-faults";
import type { FaultPack } from "./faults/fault-module";
import type { LinkCondition } from "./link-condition";
import { createLoadProfile, type LoadProfile } from "./load-profile";
import { Balancer } from "./model/balancing";
import { BmsEventLog, type BmsRecord } from "./model/bms-event-log";
import { ProtectionLatch, protectionConditions } from "./model/bms-protection";
import { CellAgeing, type FastForward } from "./model/cell-ageing";
import { CellBank } from "./model/cell-bank";
import { CHEMISTRY, type Chemistry, type ChemistryParameters, COMMON_LIMITS } from "./model/chemistry";
import { currentLimits } from "./model/current-limits";
import { type PackModelOptions, PackModelOptionsSchema, type Topology } from "./model/pack-model-options";
import type { PackSnapshot } from "./model/pack-snapshot";
import { SocEstimator } from "./model/soc-estimator";
import { deriveSeed, SeededRandom } from "./seeded-random";

export type { BmsRecord, LoggedEvent } from "./model/bms-event-log";
export type { AgeingSetting, FastForward } from "./model/cell-ageing";
export type { PackModelOptions, ResolvedPackModelOptions, Topology } from "./model/pack-model-options";
export { PackModelOptionsSchema, TopologySchema } from "./model/pack-model-options";
export type { PackRatings, PackSnapshot } from "./model/pack-snapshot";

/** LFP protection thresholds of the first simulator (see CHEMISTRY for both chemistries). */
export const PROTECTION = {
  overTempWarningC: CHEMISTRY.LFP.overTempWarningC,
  overTempAlarmC: CHEMISTRY.LFP.overTempAlarmC,
  overVoltWarningV: CHEMISTRY.LFP.overVoltWarningV,
  overVoltAlarmV: CHEMISTRY.LFP.overVoltAlarmV,
  fullSoc: COMMON_LIMITS.fullSoc,
  emptySoc: COMMON_LIMITS.emptySoc,
} as const;

/** Long steps are integrated in pieces no longer than this, so limits and trips act in time. */
const MAX_SUBSTEP_S = 1;

/**
 * One battery pack and its BMS, composed of one part per concern: the cells (model/cell-bank.ts:
 * capacity spread, SOC, internal resistance, self-discharge, thermal network, parallel strings),
 * the BMS's SOC/SOH estimation (model/soc-estimator.ts), protection trips and latched alarms
 * (model/bms-protection.ts), current limits (model/current-limits.ts), balancing
 * (model/balancing.ts), and the active faults (faults/active-faults.ts), whose hooks it calls at
 * fixed points of each sub-step. Pure and deterministic: no clock, no I/O, randomness only from
 * the seed; time moves only through step().
 */
export class PackModel {
  /** Cells in the pack (all strings). */
  readonly cellCount: number;
  /** Rated pack capacity, Ah (one string × strings). */
  readonly capacityAh: number;
  readonly chemistry: Chemistry;
  readonly topology: Topology;
  private readonly params: ChemistryParameters;
  private readonly ratedCharge: number;
  private readonly ratedDischarge: number;
  private readonly balanceCurrentA: number;
  private readonly reportsInsulation: boolean;
  private readonly initialCycles: number;
  private readonly load: LoadProfile;
  private readonly linkStream: SeededRandom;
  private readonly cells: CellBank;
  private readonly ageing: CellAgeing | null;
  private readonly estimator: SocEstimator;
  private readonly protection = new ProtectionLatch();
  private readonly balancer: Balancer;
  private readonly faults: ActiveFaults;
  private readonly eventLog: BmsEventLog;
  private effects: FaultEffects;
  /** What the BMS measures now: cell voltages, V; sensor readings, °C. */
  private voltages: number[];
  private sensors: number[];
  private simulatedSeconds = 0;
  private current = 0;
  private dischargedAh = 0;
  private chargedAh = 0;
  private chargedWh = 0;
  private dischargedWh = 0;

  /** Throws ConfigError (from @bms/shared) naming every invalid option. */
  constructor(options: PackModelOptions = {}) {
    const opts = parseConfig(PackModelOptionsSchema, options, "pack model options");
    this.topology =
      options.topology === undefined && opts.cellCount !== undefined ? { strings: 1, modulesPerString: 1, cellsPerModule: opts.cellCount } : opts.topology;
    this.chemistry = opts.chemistry;
    this.params = CHEMISTRY[opts.chemistry];
    this.capacityAh = opts.capacityAh * this.topology.strings;
    this.ratedCharge = this.capacityAh * this.params.chargeC;
    this.ratedDischarge = this.capacityAh * this.params.dischargeC;
    this.balanceCurrentA = opts.balanceCurrentA;
    this.reportsInsulation = opts.reportsInsulation;
    this.eventLog = new BmsEventLog(this.ratedDischarge);

    // Every draw is made whether or not its option is given, so setting one option never shifts the others.
    const setup = new SeededRandom(opts.seed);
    const drawnSoc = setup.between(40, 70);
    const drawnCycles = Math.floor(setup.between(50, 400));
    const sohBias = setup.next();
    const drawnOffset = setup.between(-0.2, 0.2);
    const drawnInsulation = setup.between(10_000, 50_000);
    const bmsSohBias = setup.between(-0.5, 0.5);
    this.initialCycles = opts.cycles ?? drawnCycles;
    this.cells = new CellBank(
      {
        chemistry: opts.chemistry,
        topology: this.topology,
        capacityAh: opts.capacityAh,
        capacitySpreadPct: opts.capacitySpreadPct,
        socSpreadPct: opts.socSpreadPct,
        initialSoc: opts.initialSoc ?? drawnSoc,
        soh: opts.soh ?? Math.max(60, 100 - 0.01 * this.initialCycles - 0.5 * sohBias),
        ambientC: opts.ambientC,
        selfDischargePctPerMonth: opts.selfDischargePctPerMonth ?? this.params.selfDischargePctPerMonth,
      },
      setup,
    );
    this.cellCount = this.cells.count;
    // Its own stream, so a pack with ageing draws everything else exactly as one without.
    this.ageing = opts.ageing
      ? new CellAgeing(opts.ageing, opts.chemistry, this.cellCount, opts.capacityAh, opts.ambientC, new SeededRandom(deriveSeed(opts.seed, 3)))
      : null;
    if (this.ageing) this.cells.useWear(this.ageing);
    this.voltages = new Array<number>(this.cellCount).fill(0);
    this.sensors = [...this.cells.temperature];
    this.balancer = new Balancer(this.cells.cellsPerString, this.topology.strings, this.params.balanceStartV);
    this.load = createLoadProfile(opts.load, this.capacityAh, opts.startHour, new SeededRandom(deriveSeed(opts.seed, 1)));
    this.linkStream = new SeededRandom(deriveSeed(opts.seed, 2));
    const model = this;
    const faultPack: FaultPack = {
      capacityAh: this.capacityAh,
      healthyInsulationKOhm: opts.insulationKOhm ?? drawnInsulation,
      get current() {
        return model.current;
      },
      temperatures: this.cells.temperature,
    };
    this.faults = new ActiveFaults(faultPack, this.cellCount);
    this.effects = this.faults.effects(0);
    const initialSoh = Math.min(100, (this.cells.usableAh(this.effects.cells) / this.capacityAh) * 100 + bmsSohBias);
    this.estimator = new SocEstimator(this.params, this.capacityAh, opts.currentSensorOffsetA ?? drawnOffset, this.cells.meanSoc(), initialSoh);
    this.measure(0);
  }

  /** Advances the pack by `dtSeconds` of simulated time, in sub-steps of at most 1 s. */
  step(dtSeconds: number): void {
    if (!Number.isFinite(dtSeconds) || dtSeconds < 0) throw new RangeError(`step needs a finite, non-negative number of seconds, got ${dtSeconds}`);
    let remaining = dtSeconds;
    while (remaining > 1e-9) {
      const h = Math.min(MAX_SUBSTEP_S, this.cells.maxStableStep(), remaining);
      this.substep(h);
      remaining -= h;
    }
  }

  /**
   * Jumps the simulated clock by `ff.days` and ages the cells as if they had spent them at the
   * given temperature and mean SOC making `ff.equivalentCycles` full cycles, without stepping the
   * physics (the cells keep their SOC). Packs without `ageing` only move their clock.
   */
  fastForward(ff: FastForward): void {
    if (!Number.isFinite(ff.days) || ff.days < 0) throw new RangeError(`fastForward needs a finite number of days ≥ 0, got ${ff.days}`);
    this.ageing?.fastForward(ff);
    this.simulatedSeconds += ff.days * 86_400;
    this.effects = this.faults.effects(this.simulatedSeconds);
    this.measure(0);
  }

  /** Adds a fault; throws InvalidFaultError for a malformed one. Returns it with defaults filled in. */
  injectFault(fault: Fault): ResolvedFault {
    const resolved = resolveFault(fault, this.cellCount);
    this.faults.add(resolved, this.simulatedSeconds);
    this.effects = this.faults.effects(this.simulatedSeconds);
    this.measure(0);
    return resolved;
  }

  /**
   * Removes every fault: the physics then recovers on its own (a hot cell cools with its thermal
   * time constant, a drained cell stays drained). Latched alarms stay until resetAlarms(), as on a real BMS.
   */
  clearFaults(): void {
    this.faults.clear();
    this.effects = this.faults.effects(this.simulatedSeconds);
    this.measure(0);
  }

  /** AlmRst: each latched alarm clears as soon as its condition has gone (at once if it already has); the BMS logs the reset. */
  resetAlarms(): void {
    this.eventLog.alarmsReset(this.simulatedSeconds);
    this.protection.requestReset();
  }

  /** The BMS's own event log and lifetime counters (times in simulated seconds). */
  bmsRecord(): BmsRecord {
    return this.eventLog.record();
  }

  /** Same as resetAlarms() (the first simulator's name). */
  requestAlarmReset(): void {
    this.resetAlarms();
  }

  /** How the device's link behaves now (the link hooks of the active faults). */
  link(): LinkCondition {
    return this.faults.link(this.simulatedSeconds);
  }

  /** A draw in [0, 1) from the pack's own link stream (for protocol servers playing a garbled link). */
  linkRandom(): number {
    return this.linkStream.next();
  }

  snapshot(): PackSnapshot {
    const reported = this.protection.reported();
    const evt1 = alarmsToEvt1(reported);
    const tripped = this.protection.isTripped();
    const limits = this.limits();
    const est = this.estimator;
    const soc = Math.min(100, Math.max(0, est.soc));
    const series = this.cells.cellsPerString;
    const insulation = this.reportsInsulation || this.faults.measuresInsulation();
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
      trueSoc: this.cells.meanSoc(),
      soh: est.soh,
      trueSoh: (this.cells.usableAh(this.effects.cells) / this.capacityAh) * 100,
      remainingCapacityAh: (soc / 100) * this.capacityAh * (est.soh / 100),
      current: this.current,
      stringCurrents: [...this.cells.stringCurrents],
      packVoltage: this.packVoltage(),
      cellVoltages: [...this.voltages],
      cellTemperatures: [...this.sensors],
      cellSocs: [...this.cells.soc],
      cellCapacitiesAh: this.cells.capacities(this.effects.cells),
      balancing: [...this.balancer.bleeding],
      alarms: evt1ToAlarms(evt1),
      evt1,
      trips: this.protection.trips(),
      contactorClosed: !tripped,
      cycles: this.initialCycles + Math.floor(this.dischargedAh / this.capacityAh + (this.ageing?.fastForwardedCycles ?? 0)),
      throughput: { chargedAh: this.chargedAh, dischargedAh: this.dischargedAh, chargedKWh: this.chargedWh / 1000, dischargedKWh: this.dischargedWh / 1000 },
      resistance25MilliOhm: this.cells.resistance25(this.effects.cells) * 1000,
      ...(this.ageing
        ? {
            ageing: {
              agedDays: this.ageing.agedDays,
              fastForwardedCycles: this.ageing.fastForwardedCycles,
              cellCapacityFactors: [...this.ageing.wearCapacity],
              cellResistanceFactors: [...this.ageing.wearResistance],
            },
          }
        : {}),
      chargeStatus: this.chargeStatus(tripped),
      state: tripped ? BATTERY_STATE.FAULT : est.empty && this.current <= 0 ? BATTERY_STATE.SOC_PROTECTION : BATTERY_STATE.CONNECTED,
      chargeCurrentLimit: limits.charge,
      dischargeCurrentLimit: limits.discharge,
      chargeVoltageLimit: this.params.chargeStopV * series,
      dischargeVoltageLimit: this.params.dischargeLimitV * series,
      ...(insulation ? { insulationResistanceKOhm: this.effects.bms.insulationKOhm } : {}),
      faults: this.faults.list(),
    };
  }

  /** One sub-step: the load asks, the BMS allows, the cells integrate, the faults act, the BMS measures and decides. */
  private substep(h: number): void {
    this.effects = this.faults.effects(this.simulatedSeconds);
    const fx = this.effects;
    // A surge is a fault in the load: it ignores the limits until the contactor opens.
    const limits = this.limits();
    const requested = this.load.request(this.estimator.soc, h, this.simulatedSeconds);
    let current = fx.loadCurrentA ?? Math.min(limits.charge, Math.max(-limits.discharge, requested));
    if (this.protection.isTripped()) current = 0;
    this.current = current === 0 ? 0 : current; // no -0 in snapshots

    this.cells.splitCurrent(this.current, fx.cells);
    this.cells.integrate(h, this.balancer.bleeding, this.balanceCurrentA, fx.cells);
    this.faults.integrate(this.simulatedSeconds, h, this.cells.temperature);
    if (this.ageing) {
      const cells = this.cells;
      this.ageing.step(h, (i) => cells.stringCurrents[Math.floor(i / cells.cellsPerString)] ?? 0, cells.soc, cells.temperature);
    }
    const watts = this.current * this.packVoltage();
    if (this.current < 0) {
      this.dischargedAh += (-this.current * h) / 3600;
      this.dischargedWh += (-watts * h) / 3600;
    } else {
      this.chargedAh += (this.current * h) / 3600;
      this.chargedWh += (watts * h) / 3600;
    }
    this.simulatedSeconds += h;

    this.estimator.update(h, this.current, this.cells.ocv);
    this.measure(h);
    this.balancer.decide(this.voltages, this.current, this.protection.isTripped());
  }

  /** Cell voltages and sensor readings as the BMS sees them now; re-evaluates the protections. */
  private measure(h: number): void {
    const fx = this.effects;
    this.cells.refresh(fx.cells);
    const voltages = this.cells.terminalVoltages();
    const sensors = [...this.cells.temperature];
    this.faults.measure(this.simulatedSeconds, voltages, sensors, this.sensors);
    this.voltages = voltages;
    this.sensors = sensors;
    const conditions = protectionConditions({
      params: this.params,
      ratedChargeA: this.ratedCharge,
      ratedDischargeA: this.ratedDischarge,
      voltages,
      sensors,
      current: this.current,
      insulationKOhm: fx.bms.insulationKOhm,
      forced: fx.bms.forced,
    });
    this.protection.update(conditions, h);
    this.eventLog.observe(this.simulatedSeconds, this.protection.trips(), { voltages, sensors, current: this.current });
  }

  private limits(): { charge: number; discharge: number } {
    return currentLimits({
      params: this.params,
      ratedChargeA: this.ratedCharge,
      ratedDischargeA: this.ratedDischarge,
      tripped: this.protection.isTripped(),
      reported: this.protection.reported(),
      sensors: this.sensors,
      ocv: this.cells.ocv,
      full: this.estimator.full,
      empty: this.estimator.empty,
    });
  }

  private chargeStatus(tripped: boolean): number {
    const est = this.estimator;
    if (tripped) return CHARGE_STATUS.OFF;
    if (this.current > 0.5) return CHARGE_STATUS.CHARGING;
    if (this.current < -0.5) return CHARGE_STATUS.DISCHARGING;
    if (est.full || est.soc >= 99) return CHARGE_STATUS.FULL;
    if (est.empty || est.soc <= COMMON_LIMITS.emptySoc + 0.5) return CHARGE_STATUS.EMPTY;
    return CHARGE_STATUS.HOLDING;
  }

  private packVoltage(): number {
    let sum = 0;
    for (const v of this.voltages) sum += v;
    return sum / this.topology.strings;
  }
}
