import { z } from "zod";
import { OcvCurve } from "../ocv-curves";
import { PositiveSeconds, Seconds } from "./durations";

const Band = z.array(z.number()).min(1).max(50);
const rising = (edges: readonly number[]) => edges.every((e, i) => i === 0 || e > (edges[i - 1] as number));

/**
 * How the ingestion estimates a pack's health from field data (docs/warranty-analytics.md: the
 * stress tally, the capacity windows between rests, the resistance steps, weak cell or imbalance).
 */
export const HealthSettings = z
  .object({
    /** SOC band edges, %, rising (stress hours per SOC band × temperature band). @default [0, 10, …, 100] */
    socBandsPct: Band.refine(rising, "edges must rise").default([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    /** Temperature band edges, °C, rising (the hottest sensor); below the first and above the last are bands too. @default [-10, 0, 10, 25, 35, 45, 55] */
    temperatureBandsC: Band.refine(rising, "edges must rise").default([-10, 0, 10, 25, 35, 45, 55]),
    /** C-rate band edges above rest, rising (hours charging and discharging per band). @default [0.2, 0.5, 1, 2] */
    cRateBands: Band.refine(rising, "edges must rise").default([0.2, 0.5, 1, 2]),
    /** |current| at or below this × rated Ah is a rest for reading open-circuit voltages, C. @default 0.02 */
    restCurrentC: z.number().min(0).max(1).default(0.02),
    /** A rest must last this long before its voltages are taken as open-circuit voltages, s. @default 1800 */
    minRestS: Seconds.default(1800),
    /** OCV table of the product's cells ([SOC %, V], rising); default: the chemistry's shipped curve. */
    ocvCurve: OcvCurve.optional(),
    /** A rested cell's SOC is read only where the curve rises at least this much, mV per % (LFP's plateau is ~1). @default 5 */
    minOcvSlopeMvPerPct: z.number().min(0).max(1000).default(5),
    /** Error of a rested voltage as an OCV (measurement, relaxation, hysteresis), mV. @default 3 */
    ocvUncertaintyMv: z.number().min(0).max(500).default(3),
    /** Rests outside this temperature range are not read (the curves are for ~25 °C), °C. @default [5, 45] */
    ocvTemperatureRangeC: z.tuple([z.number(), z.number()]).default([5, 45]),
    /** Error of the current sensor as an offset, C (it adds up over a window). @default 0.002 */
    currentUncertaintyC: z.number().min(0).max(1).default(0.002),
    /** A capacity window needs a cell's SOC to move at least this much between its two rests, %. @default 30 */
    minSwingPct: z.number().min(1).max(100).default(30),
    /** …and its relative uncertainty to be at most this, %. @default 5 */
    maxWindowUncertaintyPct: z.number().min(0.1).max(100).default(5),
    /** Rests further apart than this make no window (the current sensor's offset adds up), s. @default 259200 (3 days) */
    maxWindowS: PositiveSeconds.default(3 * 86_400),
    /** Samples further apart than this break a window (charge cannot be counted across), s. @default 300 */
    maxSampleGapS: PositiveSeconds.default(300),
    /** The estimate uses the windows of this many days before the newest one. @default 14 */
    recentDays: z.number().positive().max(3650).default(14),
    /** Windows needed for an estimate. @default 3 */
    minWindows: z.number().int().min(1).max(1000).default(3),
    /** The least uncertainty an estimate claims, percentage points (the method's floor). @default 1 */
    uncertaintyFloorPct: z.number().min(0).max(50).default(1),
    /** The end-of-life forecast needs windows spread over at least this many days. @default 30 */
    forecastMinSpanDays: z.number().positive().max(3650).default(30),
    /** Internal resistance from current steps: a step of at least this, C… @default 0.15 */
    resistanceStepC: z.number().positive().max(10).default(0.15),
    /** …between samples at most this far apart, s… @default 60 */
    resistanceStepMaxS: PositiveSeconds.default(60),
    /** …with the SOC inside this range, % (the knees of the curve move the voltage on their own). @default [20, 90] */
    resistanceSocRangePct: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]).default([20, 90]),
    /** …and the temperature inside this range, °C. @default [10, 40] */
    resistanceTemperatureRangeC: z.tuple([z.number(), z.number()]).default([10, 40]),
    /** Resistance is brought to 25 °C as R₂₅ = R · exp(−k · (25 − T)); k per °C. @default 0.03 */
    resistanceTemperatureCoefficient: z.number().min(0).max(1).default(0.03),
    /** Rests at or above this SOC are the top of charge (weak cell or imbalance), %. @default 90 */
    topSocPct: z.number().min(0).max(100).default(90),
    /** Rests at or below this SOC are the bottom, %. @default 20 */
    bottomSocPct: z.number().min(0).max(100).default(20),
    /** A cell whose SOC swings this much more than the median cell's between top and bottom is weak, percentage points. @default 10 */
    weakCellSwingPct: z.number().positive().max(100).default(10),
    /** A cell off the median by this much at both ends (same side) is out of balance, percentage points. @default 5 */
    imbalanceOffsetPct: z.number().positive().max(100).default(5),
    /** Top and bottom rests each needed before cells are judged. @default 2 */
    minEndRests: z.number().int().min(1).max(1000).default(2),
  })
  .strict();
export type HealthSettings = z.infer<typeof HealthSettings>;
