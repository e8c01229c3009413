import type { CellEffects } from "../faults/fault-module";
import type { SeededRandom } from "../seeded-random";
import { cellResistance, selfDischargePctPerSecond } from "./cell-resistance";
import type { Chemistry } from "./chemistry";
import { openCircuitVoltage } from "./open-circuit-voltage";
import type { Topology } from "./pack-model-options";
import { ThermalNetwork, thermalParametersFor } from "./thermal-network";

/** Capacity and resistance factors per cell from ageing (model/cell-ageing.ts), 1 = as new. */
export interface CellWear {
  readonly wearCapacity: readonly number[];
  readonly wearResistance: readonly number[];
}

/** How the cells of a pack start: everything the physics needs that is not drawn per cell. */
export interface CellBankSetup {
  chemistry: Chemistry;
  topology: Topology;
  /** Rated capacity of one string, Ah. */
  capacityAh: number;
  /** ± % of capacity, uniform. */
  capacitySpreadPct: number;
  /** ± percentage points of SOC, uniform. */
  socSpreadPct: number;
  initialSoc: number;
  /** Capacity as % of rated. */
  soh: number;
  ambientC: number;
  /** At 25 °C; each cell draws 0.8–1.2 × this. */
  selfDischargePctPerMonth: number;
}

/**
 * The cell physics of a pack: per cell (flattened string → module → cell) capacity, true SOC,
 * internal resistance, self-discharge and temperature in a lumped thermal network; series cells in
 * parallel strings that share the terminal voltage. Knows nothing of the BMS: it is told the pack
 * current, which cells bleed and what the faults do to the cells.
 */
export class CellBank {
  readonly count: number;
  readonly cellsPerString: number;
  readonly strings: number;
  readonly chemistry: Chemistry;
  /** Ah per cell at start, before ageing and fault effects. */
  readonly capacity: number[] = [];
  /** %, true. */
  readonly soc: number[] = [];
  /** °C, true. */
  readonly temperature: number[];
  /** V, open-circuit voltage at the last refresh. */
  readonly ocv: number[];
  /** Ω, internal resistance at the last refresh (fault effects included). */
  readonly resistance: number[];
  /** A per string, + charging. */
  readonly stringCurrents: number[];
  private readonly r25: number[] = [];
  private readonly ambient: number[] = [];
  private readonly selfDischargePctPerMonth: number[] = [];
  private readonly heat: number[];
  private readonly thermal: ThermalNetwork;
  private wear: CellWear | null = null;

  /** Draws five numbers per cell from `setup`, in cell order. */
  constructor(options: CellBankSetup, setup: SeededRandom) {
    const t = options.topology;
    this.chemistry = options.chemistry;
    this.strings = t.strings;
    this.cellsPerString = t.modulesPerString * t.cellsPerModule;
    this.count = t.strings * this.cellsPerString;
    for (let i = 0; i < this.count; i++) {
      this.capacity.push(options.capacityAh * (options.soh / 100) * (1 + (options.capacitySpreadPct / 100) * setup.between(-1, 1)));
      this.soc.push(Math.min(100, Math.max(0, options.initialSoc + options.socSpreadPct * setup.between(-1, 1))));
      // 0.5–1 mΩ for a 100 Ah cell; smaller cells have proportionally more.
      this.r25.push(setup.between(0.0005, 0.001) * (100 / options.capacityAh));
      this.ambient.push(options.ambientC + setup.between(-0.3, 0.3));
      this.selfDischargePctPerMonth.push(options.selfDischargePctPerMonth * setup.between(0.8, 1.2));
    }
    this.temperature = [...this.ambient];
    this.heat = new Array<number>(this.count).fill(0);
    this.ocv = new Array<number>(this.count).fill(0);
    this.resistance = new Array<number>(this.count).fill(0);
    this.stringCurrents = new Array<number>(t.strings).fill(0);
    this.thermal = new ThermalNetwork(thermalParametersFor(options.capacityAh), t.cellsPerModule, this.count);
  }

  /** Ageing from now on scales each cell's capacity and resistance by these factors. */
  useWear(wear: CellWear): void {
    this.wear = wear;
  }

  /** Ah of cell i now: its capacity at start, aged, with the faults' effects. */
  private capacityOf(i: number, fx: CellEffects): number {
    return (this.capacity[i] ?? 0) * (this.wear?.wearCapacity[i] ?? 1) * (fx.capacityFactor[i] ?? 1);
  }

  /** Ω at 25 °C and mid SOC of the whole series string(s), aged and with the faults' effects: the truth behind a resistance estimate. */
  resistance25(fx: CellEffects): number {
    let total = 0;
    for (let s = 0; s < this.strings; s++) {
      let r = 0;
      for (let i = s * this.cellsPerString; i < (s + 1) * this.cellsPerString; i++) {
        r += (this.r25[i] ?? 0) * (this.wear?.wearResistance[i] ?? 1) * (fx.resistanceFactor[i] ?? 1);
      }
      total += 1 / r;
    }
    return 1 / total;
  }

  /** The longest sub-step the thermal network integrates stably, s. */
  maxStableStep(): number {
    return this.thermal.maxStableStep();
  }

  /** OCV and resistance from each cell's SOC and temperature now. */
  refresh(fx: CellEffects): void {
    for (let i = 0; i < this.count; i++) {
      const soc = this.soc[i] ?? 0;
      this.ocv[i] = openCircuitVoltage(this.chemistry, soc);
      this.resistance[i] =
        cellResistance(this.r25[i] ?? 0, this.temperature[i] ?? 0, soc) * (this.wear?.wearResistance[i] ?? 1) * (fx.resistanceFactor[i] ?? 1);
    }
  }

  /** Parallel strings share the terminal voltage: I_s = (V − OCV_s) / R_s with ΣI_s = `packA`. */
  splitCurrent(packA: number, fx: CellEffects): void {
    this.refresh(fx);
    if (this.strings === 1) {
      this.stringCurrents[0] = packA;
      return;
    }
    let conductance = 0;
    let weighted = 0;
    const ocvs: number[] = [];
    const rs: number[] = [];
    for (let s = 0; s < this.strings; s++) {
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
    const terminal = (packA + weighted) / conductance;
    for (let s = 0; s < this.strings; s++) this.stringCurrents[s] = (terminal - (ocvs[s] ?? 0)) / (rs[s] ?? 1);
  }

  /**
   * Charge, self-discharge, bleeding and leaks over `h` seconds at the string currents of the last
   * splitCurrent(); their heat then flows through the thermal network.
   */
  integrate(h: number, bleeding: readonly boolean[], bleedA: number, fx: CellEffects): void {
    for (let i = 0; i < this.count; i++) {
      const stringA = this.stringCurrents[Math.floor(i / this.cellsPerString)] ?? 0;
      const temp = this.temperature[i] ?? 0;
      const soc = this.soc[i] ?? 0;
      const r = this.resistance[i] ?? 0;
      const bleed = bleeding[i] ? bleedA : 0;
      const leakA = fx.leakA[i] ?? 0;
      const capacity = this.capacityOf(i, fx) || 1;
      const selfPct = selfDischargePctPerSecond(this.selfDischargePctPerMonth[i] ?? 0, temp) * h;
      const next = soc + (((stringA - bleed - leakA) * h) / 3600 / capacity) * 100 - selfPct;
      this.soc[i] = Math.min(110, Math.max(-10, next));
      const cellV = this.ocv[i] ?? 0;
      this.heat[i] = stringA * stringA * r + (bleed + leakA) * cellV;
    }
    this.thermal.step(this.temperature, this.ambient, this.heat, h);
  }

  /** Terminal voltage of each cell (OCV + I·R) after a refresh(). */
  terminalVoltages(): number[] {
    const voltages = new Array<number>(this.count);
    for (let i = 0; i < this.count; i++) {
      const stringA = this.stringCurrents[Math.floor(i / this.cellsPerString)] ?? 0;
      voltages[i] = (this.ocv[i] ?? 0) + stringA * (this.resistance[i] ?? 0);
    }
    return voltages;
  }

  /** Ah per cell with the faults' capacity effects. */
  capacities(fx: CellEffects): number[] {
    return this.capacity.map((_, i) => this.capacityOf(i, fx));
  }

  /** True SOC of the pack: the mean of its cells, %. */
  meanSoc(): number {
    let sum = 0;
    for (const s of this.soc) sum += s;
    return sum / this.count;
  }

  /** Usable capacity (the weakest cell of each string), Ah. */
  usableAh(fx: CellEffects): number {
    let usable = 0;
    for (let s = 0; s < this.strings; s++) {
      let weakest = Number.POSITIVE_INFINITY;
      for (let i = s * this.cellsPerString; i < (s + 1) * this.cellsPerString; i++) {
        weakest = Math.min(weakest, this.capacityOf(i, fx));
      }
      usable += weakest;
    }
    return usable;
  }
}
