import { z } from "zod";
import { Id } from "./ids";
import { EpochMs } from "./pack-sample";

/**
 * A pack's health as `GET /api/packs/:siteId/:packId/health` answers it, computed from what the
 * ingestion tallied from every sample it saw (docs/warranty-analytics.md defines every figure).
 */

const Hours = z.number().min(0);

/** A value and when it was seen. */
export const Extreme = z.object({ value: z.number(), at: EpochMs });
export type Extreme = z.infer<typeof Extreme>;

/** Where the pack worked against its warranty's operating window. */
export const WindowLimit = z.enum(["temperature-high", "temperature-low", "soc-high", "soc-low", "charge-c-rate", "discharge-c-rate"]);
export type WindowLimit = z.infer<typeof WindowLimit>;

export const CellVerdict = z.enum(["balanced", "weak-cell", "imbalanced", "unknown"]);
export type CellVerdict = z.infer<typeof CellVerdict>;

export const CellsHealth = z.object({
  /**
   * `weak-cell`: a cell highest at the top and lowest at the bottom (it has less capacity: replace
   * it); `imbalanced`: a cell off the others at both ends on the same side (rebalance remotely);
   * `unknown`: not enough rests at the top and bottom yet (`reason` says what is missing).
   */
  verdict: CellVerdict,
  reason: z.string(),
  /** Cells that swing more than the median cell between top and bottom, percentage points of SOC. */
  weak: z.array(z.object({ cell: z.number().int().min(0), excessSwingPct: z.number(), capacityAh: z.number().nullable() })),
  /** Cells off the median at both ends, percentage points of SOC (+ above). */
  imbalanced: z.array(z.object({ cell: z.number().int().min(0), offsetPct: z.number() })),
  topRests: z.number().int().min(0),
  bottomRests: z.number().int().min(0),
});
export type CellsHealth = z.infer<typeof CellsHealth>;

export const MonthUsage = z.object({
  /** YYYY-MM (UTC). */
  month: z.string().regex(/^\d{4}-\d{2}$/),
  hours: Hours,
  chargedAh: z.number().min(0),
  dischargedAh: z.number().min(0),
  chargedKWh: z.number().min(0),
  dischargedKWh: z.number().min(0),
  equivalentFullCycles: z.number().min(0),
  outsideWindowHours: Hours,
  highSocHighTemperatureHours: Hours,
  maxTemperatureC: z.number().nullable(),
  minSocPct: z.number().nullable(),
});
export type MonthUsage = z.infer<typeof MonthUsage>;

export const PackHealth = z.object({
  siteId: Id,
  packId: Id,
  /** The newest sample counted, and the oldest: the figures cover this span. */
  asOf: EpochMs.nullable(),
  since: EpochMs.nullable(),
  /** As the pack's meta said when the ingestion last saw it. */
  pack: z.object({
    chemistry: z.string().nullable(),
    model: z.string().nullable(),
    serial: z.string().nullable(),
    ratedCapacityAh: z.number().min(0),
    cellCount: z.number().int().min(0),
    warrantyStart: z.string().nullable(),
    warrantyEnd: z.string().nullable(),
  }),

  /** Capacity of the weakest cell ÷ rated capacity, %, from charge counted between rests; null until there are enough windows. */
  sohEstimatePct: z.number().nullable(),
  /** Why there is no estimate (yet). */
  sohReason: z.string().optional(),
  /** ± percentage points around the estimate (about 95 %), never below the method's floor. */
  sohUncertaintyPct: z.number().nullable(),
  sohConfidence: z.enum(["high", "medium", "low"]).nullable(),
  /** Windows the estimate used, and every qualifying window so far. */
  sohWindows: z.number().int().min(0),
  sohWindowsTotal: z.number().int().min(0),
  /** Windows (or rests) left out, by reason. */
  sohRejected: z.record(z.string(), z.number().int().min(0)),
  /** Ah of the weakest cell, and which cell it is. */
  capacityAh: z.number().nullable(),
  weakestCell: z.number().int().min(0).nullable(),
  /** The BMS's own SOH field in the newest sample, for comparison (not used by the estimate). */
  bmsSohPct: z.number().nullable(),
  /** When the estimate would cross the warranted end-of-life SOH, from the trend of the windows; null when it cannot be said. */
  eolForecast: z.object({
    eolSohPct: z.number(),
    at: EpochMs.nullable(),
    earliest: EpochMs.nullable(),
    latest: EpochMs.nullable(),
    /** Percentage points per year (negative: fading). */
    trendPctPerYear: z.number().nullable(),
    basis: z.string(),
  }),
  /** The warranted curve: 100 % at the warranty start falling linearly to eolSohPct after warrantedYears. */
  warrantedCurve: z.object({
    warrantedYears: z.number(),
    eolSohPct: z.number(),
    ageYears: z.number().nullable(),
    /** The least SOH the warranty promises at this age. */
    warrantedMinPct: z.number().nullable(),
    /** Estimate − warrantedMinPct: below 0, the capacity is below what the warranty promises. */
    marginPct: z.number().nullable(),
  }),
  resistance: z.object({
    /** The pack's internal resistance from current steps, at 25 °C, mΩ (recent steps). */
    milliOhm: z.number().nullable(),
    /** The first steps' value, mΩ. */
    baselineMilliOhm: z.number().nullable(),
    growthPct: z.number().nullable(),
    steps: z.number().int().min(0),
  }),
  cells: CellsHealth,

  /** Ah through the pack, charged plus discharged. */
  throughputAh: z.number().min(0),
  chargedAh: z.number().min(0),
  dischargedAh: z.number().min(0),
  chargedKWh: z.number().min(0),
  dischargedKWh: z.number().min(0),
  /** throughputAh ÷ (2 × rated Ah). */
  equivalentFullCycles: z.number().min(0),
  /** Hours covered by samples. */
  operatingHours: Hours,
  /** Hours per "soc A-B | C-D °C" band (the hottest sensor). */
  stressHours: z.record(z.string(), Hours),
  /** Hours per C-rate band, charging and discharging ("rest", "charge 0.2-0.5 C", …). */
  cRateHours: z.record(z.string(), Hours),
  /** Calendar-ageing driver: hours at high SOC and high temperature together. */
  highSocHighTemperatureHours: Hours,
  extremes: z.object({
    maxTemperatureC: Extreme.nullable(),
    minTemperatureC: Extreme.nullable(),
    /** Deepest discharge: the lowest SOC. */
    minSocPct: Extreme.nullable(),
    maxChargeC: Extreme.nullable(),
    maxDischargeC: Extreme.nullable(),
  }),
  operatingWindow: z.object({
    limits: z.object({
      minTemperatureC: z.number(),
      maxTemperatureC: z.number(),
      minSocPct: z.number(),
      maxSocPct: z.number(),
      maxChargeC: z.number(),
      maxDischargeC: z.number(),
      maxOutsideSharePct: z.number(),
    }),
    outsideHours: z.partialRecord(WindowLimit, Hours),
    /** Hours with any limit passed ÷ operating hours, %. */
    outsideSharePct: z.number().min(0),
  }),
  throughputWarranty: z.object({
    warrantedThroughputKWh: z.number().nullable(),
    usedThroughputPct: z.number().nullable(),
    warrantedEquivalentCycles: z.number().nullable(),
    usedCyclesPct: z.number().nullable(),
  }),
  /** Month by month (UTC), oldest first, at most the last 24. */
  months: z.array(MonthUsage),
});
export type PackHealth = z.infer<typeof PackHealth>;

/** `GET /api/sites/:siteId/health`: the packs' figures rolled up. */
export const SiteHealth = z.object({
  siteId: Id,
  packs: z.number().int().min(0),
  throughputAh: z.number().min(0),
  chargedKWh: z.number().min(0),
  dischargedKWh: z.number().min(0),
  /** Mean of the packs'. */
  equivalentFullCycles: z.number().min(0),
  operatingHours: Hours,
  stressHours: z.record(z.string(), Hours),
  highSocHighTemperatureHours: Hours,
  /** The lowest pack estimate, and which pack. */
  lowestSohPct: z.number().nullable(),
  lowestSohPack: Id.nullable(),
  /** Packs by cell verdict. */
  cellVerdicts: z.partialRecord(CellVerdict, z.number().int().min(0)),
  maxTemperatureC: Extreme.nullable(),
  minSocPct: Extreme.nullable(),
});
export type SiteHealth = z.infer<typeof SiteHealth>;
