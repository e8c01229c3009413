import { z } from "zod";
import type { SeededRandom } from "../seeded-random";
import type { Chemistry } from "./chemistry";

/**
 * How the cells of a pack age (docs/simulators.md "Ageing"). Off unless a pack's options have
 * `ageing`, so packs without it step exactly as before.
 */
export const AgeingSchema = z
  .object({
    /** Capacity lost per 1000 equivalent full cycles at 25 °C and up to 0.5 C, % of the cell's capacity. @default LFP 4, NMC 12 */
    cycleFadePctPer1000: z.number().min(0).max(100).optional(),
    /** Capacity lost after one year at 25 °C and 50 % SOC, %; it grows with √time. @default LFP 2, NMC 3 */
    calendarFadePctPerSqrtYear: z.number().min(0).max(100).optional(),
    /** Internal resistance grows by this many % per % of capacity lost. @default 2 */
    resistanceGrowthPerFadePct: z.number().min(0).max(100).default(2),
    /** Cell-to-cell spread of the ageing rates, ± % (uniform). @default 10 */
    spreadPct: z.number().min(0).max(90).default(10),
    /** Every rate × this: accelerated ageing, for tests and demos. @default 1 */
    acceleration: z.number().min(0).max(1000).default(1),
    /** Cells that age faster than the others (a weak cell in the making): rates × factor. @default [] */
    weakCells: z
      .array(z.object({ cell: z.number().int().min(0).max(1023), factor: z.number().min(1).max(1000) }).strict())
      .max(64)
      .default([]),
    /** Calendar age of the cells at start, days: the √time law's clock starts there. @default 180 */
    initialAgeDays: z.number().min(0).max(36_500).default(180),
  })
  .strict();
export type AgeingSetting = z.input<typeof AgeingSchema>;
export type ResolvedAgeing = z.output<typeof AgeingSchema>;

const RATES: Readonly<Record<Chemistry, { cycle: number; calendar: number }>> = {
  LFP: { cycle: 4, calendar: 2 },
  NMC: { cycle: 12, calendar: 3 },
};

const YEAR_S = 365.25 * 86_400;
/** Stress is averaged over this much simulated time before the √time law is applied, s. */
const APPLY_EVERY_S = 60;

/** Calendar stress: ×2 per 10 °C above 25 °C (Arrhenius-like), and higher at high SOC (1 at 50 %, 1.4 at 100 %). */
function calendarStress(temperatureC: number, socPercent: number): number {
  return 2 ** ((Math.min(80, temperatureC) - 25) / 10) * (0.6 + 0.008 * Math.min(100, Math.max(0, socPercent)));
}

/** Cycle stress per Ah: ×1.5 per 10 °C away from 25 °C either way (heat; plating when cold), more above 0.5 C. */
function cycleStress(temperatureC: number, cRate: number): number {
  return 1.5 ** (Math.abs(Math.min(80, temperatureC) - 25) / 10) * (1 + Math.max(0, cRate - 0.5));
}

/** What a fast-forward stands for: time passing and cycles made, at one temperature and mean SOC. */
export interface FastForward {
  days: number;
  /** Equivalent full cycles made during those days. @default 0 */
  equivalentCycles?: number;
  /** °C. @default the pack's ambient */
  temperatureC?: number;
  /** Mean SOC over the period, %. @default 50 */
  socPercent?: number;
  /** C-rate of the cycles. @default 0.5 */
  cRate?: number;
}

/**
 * Capacity fade and resistance growth per cell: calendar loss growing with √time (faster when hot
 * and at high SOC), cycle loss growing with the charge through the cell (faster when hot, cold or
 * fast), resistance growing with the capacity lost. Each cell's rates are drawn with a spread, and
 * weak cells age faster. Writes its result into `wearCapacity` and `wearResistance` (factors,
 * 1 = as new), which the cell bank applies; `fastForward` ages the cells in one jump.
 */
export class CellAgeing {
  /** Capacity now ÷ capacity at start, per cell. */
  readonly wearCapacity: number[];
  /** Resistance now ÷ resistance at start, per cell. */
  readonly wearResistance: number[];
  /** Simulated days the cells aged (stepped and fast-forwarded). */
  agedDays = 0;
  /** Equivalent full cycles fast-forwarded (not stepped). */
  fastForwardedCycles = 0;
  private readonly calendarRate: number[] = [];
  private readonly cycleRate: number[] = [];
  /** Calendar loss (fraction) on the √time law's clock, and its value at start. */
  private readonly calendarLoss: number[] = [];
  private readonly calendarLossAtStart: number[] = [];
  private readonly cycleLoss: number[] = [];
  private readonly stressSum: number[];
  private readonly ahSum: number[];
  private pendingS = 0;

  constructor(
    private readonly setting: ResolvedAgeing,
    chemistry: Chemistry,
    private readonly count: number,
    /** Rated Ah of one cell (for equivalent cycles). */
    private readonly cellAh: number,
    private readonly ambientC: number,
    random: SeededRandom,
  ) {
    const base = RATES[chemistry];
    const calendar = (setting.calendarFadePctPerSqrtYear ?? base.calendar) / 100;
    const cycle = (setting.cycleFadePctPer1000 ?? base.cycle) / 100 / 1000;
    const t0 = Math.sqrt(setting.initialAgeDays / 365.25);
    for (let i = 0; i < count; i++) {
      const weak = setting.weakCells.find((w) => w.cell === i)?.factor ?? 1;
      const spread = 1 + (setting.spreadPct / 100) * random.between(-1, 1);
      const factor = spread * weak * setting.acceleration;
      this.calendarRate.push(calendar * factor);
      this.cycleRate.push(cycle * factor);
      this.calendarLoss.push(calendar * factor * t0);
      this.calendarLossAtStart.push(calendar * factor * t0);
      this.cycleLoss.push(0);
    }
    this.wearCapacity = new Array<number>(count).fill(1);
    this.wearResistance = new Array<number>(count).fill(1);
    this.stressSum = new Array<number>(count).fill(0);
    this.ahSum = new Array<number>(count).fill(0);
  }

  /** Adds `h` seconds at each cell's current (A through the cell, + charging), SOC and temperature; applies them every minute. */
  step(h: number, cellCurrent: (i: number) => number, soc: readonly number[], temperature: readonly number[]): void {
    for (let i = 0; i < this.count; i++) {
      const t = temperature[i] ?? this.ambientC;
      const amps = Math.abs(cellCurrent(i));
      this.stressSum[i] = (this.stressSum[i] ?? 0) + h * calendarStress(t, soc[i] ?? 50);
      this.ahSum[i] = (this.ahSum[i] ?? 0) + ((amps * h) / 3600) * cycleStress(t, amps / this.cellAh);
    }
    this.pendingS += h;
    if (this.pendingS >= APPLY_EVERY_S) this.apply();
  }

  /** Ages every cell by `ff` in one jump (no physics is stepped). */
  fastForward(ff: FastForward): void {
    if (!(ff.days >= 0) || !Number.isFinite(ff.days)) throw new RangeError(`fastForward needs days ≥ 0, got ${ff.days}`);
    const cycles = ff.equivalentCycles ?? 0;
    if (!(cycles >= 0) || !Number.isFinite(cycles)) throw new RangeError(`fastForward needs equivalentCycles ≥ 0, got ${cycles}`);
    this.apply();
    const t = ff.temperatureC ?? this.ambientC;
    const stress = calendarStress(t, ff.socPercent ?? 50);
    const perAh = cycleStress(t, ff.cRate ?? 0.5);
    for (let i = 0; i < this.count; i++) this.addLoss(i, ff.days * 86_400, stress, 2 * this.cellAh * cycles * perAh);
    this.agedDays += ff.days;
    this.fastForwardedCycles += cycles;
    this.refreshWear();
  }

  private apply(): void {
    if (this.pendingS <= 0) return;
    for (let i = 0; i < this.count; i++) {
      this.addLoss(i, this.pendingS, (this.stressSum[i] ?? 0) / this.pendingS, this.ahSum[i] ?? 0);
      this.stressSum[i] = 0;
      this.ahSum[i] = 0;
    }
    this.agedDays += this.pendingS / 86_400;
    this.pendingS = 0;
    this.refreshWear();
  }

  /** `seconds` at mean calendar stress `stress`, and `weightedAh` of stress-weighted charge through cell i. */
  private addLoss(i: number, seconds: number, stress: number, weightedAh: number): void {
    const k = (this.calendarRate[i] ?? 0) * stress;
    if (k > 0) {
      // The √time law under changing stress: the time that gives today's loss at this stress, plus the step.
      const equivalentYears = ((this.calendarLoss[i] ?? 0) / k) ** 2;
      this.calendarLoss[i] = k * Math.sqrt(equivalentYears + seconds / YEAR_S);
    }
    this.cycleLoss[i] = (this.cycleLoss[i] ?? 0) + ((this.cycleRate[i] ?? 0) * weightedAh) / (2 * this.cellAh);
  }

  private refreshWear(): void {
    for (let i = 0; i < this.count; i++) {
      const lost = Math.min(0.95, (this.calendarLoss[i] ?? 0) - (this.calendarLossAtStart[i] ?? 0) + (this.cycleLoss[i] ?? 0));
      this.wearCapacity[i] = 1 - lost;
      this.wearResistance[i] = 1 + this.setting.resistanceGrowthPerFadePct * lost;
    }
  }
}
