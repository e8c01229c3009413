import { z } from "zod";
import { Seconds } from "./durations";

/**
 * A product's warranty terms as the rule file states them (`warranty`, per chemistry or product):
 * the operating window and the limits beyond which a condition is evidence of misuse.
 */

/** The operating window of a product's warranty: temperature, SOC and C-rates it is meant to work in. */
export const OperatingWindow = z
  .object({
    /** °C, the hottest sensor. @default -10 */
    minTemperatureC: z.number().default(-10),
    /** °C, the hottest sensor. @default 45 */
    maxTemperatureC: z.number().default(45),
    /** %. @default 0 */
    minSocPct: z.number().min(0).max(100).default(0),
    /** %. @default 100 */
    maxSocPct: z.number().min(0).max(100).default(100),
    /** C. @default 0.5 */
    maxChargeC: z.number().positive().default(0.5),
    /** C. @default 1 */
    maxDischargeC: z.number().positive().default(1),
    /** Share of operating hours outside the window past which the usage counts against the warranty, %. @default 5 */
    maxOutsideSharePct: z.number().min(0).max(100).default(5),
    /** The share counts only over at least this many operating hours (a fault's own episode in a short history says little). @default 24 */
    minOperatingHours: z.number().min(0).max(1_000_000).default(24),
  })
  .strict();
export type OperatingWindow = z.infer<typeof OperatingWindow>;

/** Limits of the warranty terms: conditions beyond them are evidence of misuse. */
export const WarrantyTerms = z
  .object({
    /** °C: time above this is excluded. */
    maxTemperatureC: z.number(),
    /** °C: charging below this is excluded. @default 0 */
    minChargeTemperatureC: z.number().default(0),
    /** V: discharging a cell below this is excluded. */
    cutoffCellVoltage: z.number().positive(),
    /** C: charging faster than this is over-current. */
    maxChargeC: z.number().positive(),
    /** C: discharging faster than this is over-current. */
    maxDischargeC: z.number().positive(),
    /** Seconds of a condition the terms tolerate before it counts against the warranty. @default 60 */
    toleranceS: Seconds.default(60),
    /** The window the pack is meant to work in; time outside it is shown as stress (docs/warranty-analytics.md). */
    operatingWindow: OperatingWindow.prefault({}),
    /** Years the capacity warranty runs from the warranty start. @default 10 */
    warrantedYears: z.number().positive().max(50).default(10),
    /** SOH (% of rated capacity) warranted at the end of `warrantedYears`; the warranted curve falls linearly from 100 % to it. @default 70 */
    eolSohPct: z.number().min(1).max(100).default(70),
    /** Equivalent full cycles the warranty covers (null: no cycle limit). @default null */
    warrantedEquivalentCycles: z.number().positive().max(1_000_000).nullable().default(null),
    /** Energy the warranty covers, kWh discharged (null: no energy limit). @default null */
    warrantedThroughputKWh: z.number().positive().max(1e9).nullable().default(null),
    /** Calendar-ageing stress: time with SOC at or above this… @default 90 */
    highSocPct: z.number().min(0).max(100).default(90),
    /** …and the hottest sensor at or above this, °C, is counted together. @default 35 */
    highTemperatureC: z.number().min(-50).max(150).default(35),
  })
  .strict();
export type WarrantyTerms = z.infer<typeof WarrantyTerms>;
