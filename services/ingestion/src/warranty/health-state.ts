import { WindowLimit } from "@bms/shared";
import { z } from "zod";

/**
 * The health part of a pack's state row (rules/rule-state.ts): the stress tally, the state-of-health
 * estimator, the resistance trend and the cell balance, kept incrementally by the ingestion and
 * saved with each batch commit. Versioned and checked on its own when loaded: a part that does not
 * fit starts afresh without touching the pack's rule states. The live service reads it from the
 * case store (RuleLedger.loadStates) and turns it into the health API with health-report.ts, so it
 * must stay readable without the engine.
 */

export const HEALTH_STATE_VERSION = 1;

const Num = z.number().refine(Number.isFinite, "a finite number");
const Extreme = z.object({ value: Num, at: z.number() }).nullable();

/** Counters that grow by (seconds of a sample) × (its rates): see stress-tally.ts. */
export const StressCounters = z.object({
  hours: Num,
  chargedAh: Num,
  dischargedAh: Num,
  chargedKWh: Num,
  dischargedKWh: Num,
  /** "soc A-B | C-D °C" → hours. */
  stressHours: z.record(z.string().max(64), Num),
  /** "charge 0.2-0.5 C" → hours. */
  cRateHours: z.record(z.string().max(64), Num),
  /** Seconds past each limit of the operating window, and past any. */
  outsideS: z.partialRecord(WindowLimit, Num),
  outsideAnyS: Num,
  highSocHighTemperatureH: Num,
});
export type StressCounters = z.infer<typeof StressCounters>;

/** One month's share of the counters (UTC month of each sample). */
export const MonthCounters = z.object({
  month: z.string().regex(/^\d{4}-\d{2}$/),
  hours: Num,
  chargedAh: Num,
  dischargedAh: Num,
  chargedKWh: Num,
  dischargedKWh: Num,
  outsideAnyS: Num,
  highSocHighTemperatureH: Num,
  maxTemperatureC: Num.nullable(),
  minSocPct: Num.nullable(),
});
export type MonthCounters = z.infer<typeof MonthCounters>;

/** Months kept. */
export const MONTHS_KEPT = 24;

/** A rest's voltages, read as open-circuit voltages: where a capacity window starts or ends. */
export const RestPoint = z.object({
  ts: z.number(),
  /** The charge counter at the rest, Ah. */
  ah: Num,
  /** SOC per cell read from its OCV, null where the curve is too flat (or the cell implausible). */
  socs: z.array(Num.nullable()).max(1024),
  /** Its uncertainty, percentage points. */
  sigmas: z.array(Num.nullable()).max(1024),
});
export type RestPoint = z.infer<typeof RestPoint>;

/** One capacity window's result for the pack: the weakest cell's capacity. */
export const CapacityWindow = z.object({ ts: z.number(), capacityAh: Num, sigmaAh: Num, cell: z.number().int().min(0) });
export type CapacityWindow = z.infer<typeof CapacityWindow>;

/** Windows kept for the estimate and the trend (older ones are thinned out). */
export const WINDOWS_KEPT = 120;

export const SohState = z.object({
  lastTs: z.number().nullable(),
  lastCurrent: Num.nullable(),
  /** Charge counted in the live lane (trapezoids between samples), Ah: windows take differences. */
  ah: Num,
  /** The rest going on: its start and its newest sample. */
  rest: z
    .object({
      since: z.number(),
      ts: z.number(),
      ah: Num,
      soc: Num,
      temperatureC: Num.nullable(),
      cells: z.array(Num.nullable()).max(1024),
    })
    .nullable(),
  /** The newest rest whose voltages gave a SOC: the next window starts there. */
  anchor: RestPoint.nullable(),
  windowsTotal: z.number().int().min(0),
  /** Rests and windows left out, by reason. */
  rejected: z.record(z.string().max(80), z.number().int().min(0)),
  /** Per cell: capacity from its windows (a moving average), Ah, and how many windows it had. */
  cellCapacityAh: z.array(Num.nullable()).max(1024),
  cellWindows: z.array(z.number().int().min(0)).max(1024),
  windows: z.array(CapacityWindow).max(WINDOWS_KEPT),
});
export type SohState = z.infer<typeof SohState>;

/** Resistance from current steps. */
export const ResistanceState = z.object({
  /** The newest sample, and the one before it (how fast the voltage drifted before a step). */
  prev: z.object({ ts: z.number(), current: Num, volts: Num }).nullable(),
  before: z.object({ ts: z.number(), current: Num, volts: Num }).nullable(),
  steps: z.number().int().min(0),
  /** Mean of the first steps, mΩ at 25 °C. */
  baselineSum: Num,
  baselineCount: z.number().int().min(0),
  /** The newest steps, mΩ at 25 °C: the recent value is the mean of those of the recent days. */
  recent: z.array(z.object({ ts: z.number(), milliOhm: Num })).max(64),
});
export type ResistanceState = z.infer<typeof ResistanceState>;

/** Steps kept for the recent value. */
export const RESISTANCE_STEPS_KEPT = 64;

/** Resistance steps averaged for the baseline. */
export const RESISTANCE_BASELINE_STEPS = 5;

/** Per cell: how far its SOC is from the median cell's at top and bottom rests (moving averages). */
export const BalanceState = z.object({
  topRests: z.number().int().min(0),
  bottomRests: z.number().int().min(0),
  top: z.array(Num.nullable()).max(1024),
  bottom: z.array(Num.nullable()).max(1024),
});
export type BalanceState = z.infer<typeof BalanceState>;

export const HealthState = z.object({
  v: z.literal(HEALTH_STATE_VERSION),
  since: z.number().nullable(),
  lastTs: z.number().nullable(),
  /** As the pack's meta said (the report names the pack and its warranty with it). */
  pack: z.object({
    chemistry: z.string().max(16).nullable(),
    model: z.string().max(64).nullable(),
    serial: z.string().max(64).nullable(),
    cellCount: z.number().int().min(0).max(1024),
    ratedAh: Num,
    warrantyStart: z.string().max(10).nullable(),
    warrantyEnd: z.string().max(10).nullable(),
  }),
  counters: StressCounters,
  months: z.array(MonthCounters).max(MONTHS_KEPT),
  extremes: z.object({
    maxTemperatureC: Extreme,
    minTemperatureC: Extreme,
    minSocPct: Extreme,
    maxChargeC: Extreme,
    maxDischargeC: Extreme,
  }),
  /** The BMS's own SOH in the newest sample. */
  bmsSohPct: Num.nullable(),
  soh: SohState,
  resistance: ResistanceState,
  balance: BalanceState,
});
export type HealthState = z.infer<typeof HealthState>;

export function newCounters(): StressCounters {
  return {
    hours: 0,
    chargedAh: 0,
    dischargedAh: 0,
    chargedKWh: 0,
    dischargedKWh: 0,
    stressHours: {},
    cRateHours: {},
    outsideS: {},
    outsideAnyS: 0,
    highSocHighTemperatureH: 0,
  };
}

export function newHealthState(): HealthState {
  return {
    v: HEALTH_STATE_VERSION,
    since: null,
    lastTs: null,
    pack: { chemistry: null, model: null, serial: null, cellCount: 0, ratedAh: 0, warrantyStart: null, warrantyEnd: null },
    counters: newCounters(),
    months: [],
    extremes: { maxTemperatureC: null, minTemperatureC: null, minSocPct: null, maxChargeC: null, maxDischargeC: null },
    bmsSohPct: null,
    soh: { lastTs: null, lastCurrent: null, ah: 0, rest: null, anchor: null, windowsTotal: 0, rejected: {}, cellCapacityAh: [], cellWindows: [], windows: [] },
    resistance: { prev: null, before: null, steps: 0, baselineSum: 0, baselineCount: 0, recent: [] },
    balance: { topRests: 0, bottomRests: 0, top: [], bottom: [] },
  };
}

/** The saved health part, or a fresh one with the reason it did not fit (absent: a row from before it was kept). */
export function loadHealthState(saved: unknown): { state: HealthState; problem: string | null } {
  if (saved === undefined) return { state: newHealthState(), problem: null };
  const parsed = HealthState.safeParse(saved);
  if (parsed.success) return { state: parsed.data, problem: null };
  const issue = parsed.error.issues[0];
  return { state: newHealthState(), problem: `health: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` };
}
