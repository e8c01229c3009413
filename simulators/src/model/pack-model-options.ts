import { z } from "zod";
import { LoadSettingSchema } from "../load-profile";
import { AgeingSchema } from "./cell-ageing";
import { ChemistrySchema } from "./chemistry";

/** How the cells are wired: parallel strings of series modules of series cells. */
export const TopologySchema = z
  .object({
    /** Strings in parallel. @default 1 */
    strings: z.number().int().min(1).max(16).default(1),
    /** Modules in series per string. @default 1 */
    modulesPerString: z.number().int().min(1).max(64).default(1),
    /** Cells in series per module, one temperature sensor each. @default 16 */
    cellsPerModule: z.number().int().min(1).max(64).default(16),
  })
  .strict()
  .refine((t) => t.strings * t.modulesPerString * t.cellsPerModule <= 1024, {
    message: "at most 1024 cells per pack (strings × modulesPerString × cellsPerModule)",
  });
export type Topology = z.output<typeof TopologySchema>;

/**
 * Everything that describes one simulated pack. Values left out are drawn from the seed where
 * noted, so the same options and seed always give the same pack.
 */
export const PackModelOptionsSchema = z
  .object({
    /** PRNG seed: the same seed and the same step() calls give the same pack. @default 1 */
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /** Cell chemistry: OCV curve, protection thresholds, ratings. @default "LFP" */
    chemistry: ChemistrySchema.default("LFP"),
    /** Wiring; snapshot arrays are flattened string → module → cell. @default { strings: 1, modulesPerString: 1, cellsPerModule: 16 } */
    topology: TopologySchema.prefault({}),
    /** Shorthand of the first simulator for `topology: { cellsPerModule: cellCount }`; ignored when `topology` is given. */
    cellCount: z.number().int().min(1).max(1024).optional(),
    /** Rated capacity of one string, Ah. @default 100 */
    capacityAh: z.number().positive().max(100_000).default(100),
    /** Cell-to-cell capacity spread, ± % of the cell's capacity (uniform). @default 1 */
    capacitySpreadPct: z.number().min(0).max(30).default(1),
    /** Cell-to-cell SOC spread at start, ± percentage points. @default 1 */
    socSpreadPct: z.number().min(0).max(30).default(1),
    /** State of charge at start, %. @default drawn from the seed, 40–70 */
    initialSoc: z.number().min(0).max(100).optional(),
    /** Equivalent full cycles at start. @default drawn from the seed, 50–400 */
    cycles: z.number().int().min(0).max(1_000_000).optional(),
    /** State of health at start: capacity as % of rated (fade). @default 100 − 0.01 × cycles, minus up to 0.5 drawn from the seed */
    soh: z.number().min(10).max(100).optional(),
    /** Ambient temperature the cells relax to, °C. @default 25 */
    ambientC: z.number().min(-40).max(80).default(25),
    /** Hour of day at simulated time 0 (the daily load profile's clock). @default 0 */
    startHour: z.number().min(0).max(24).default(0),
    /** What drives the current. @default { kind: "cycle" } */
    load: LoadSettingSchema.default({ kind: "cycle" }),
    /** Self-discharge at 25 °C, % per 30 days (doubles per 10 °C warmer). @default the chemistry's: LFP 2, NMC 3 */
    selfDischargePctPerMonth: z.number().min(0).max(100).optional(),
    /** Balancing bleed current per cell, A. @default 0.2 */
    balanceCurrentA: z.number().min(0).max(10).default(0.2),
    /** Offset of the BMS current sensor, A (coulomb-counting drift). @default drawn from the seed, ±0.2 */
    currentSensorOffsetA: z.number().min(-100).max(100).optional(),
    /** Whether the BMS measures and reports insulation resistance (an insulation fault turns it on). @default false */
    reportsInsulation: z.boolean().default(false),
    /** Healthy insulation resistance, kΩ. @default drawn from the seed, 10 000–50 000 (10–50 MΩ) */
    insulationKOhm: z.number().positive().max(10_000_000).optional(),
    /** Capacity fade and resistance growth per cell (model/cell-ageing.ts). @default none: the cells do not age */
    ageing: AgeingSchema.optional(),
  })
  .strict();
export type PackModelOptions = z.input<typeof PackModelOptionsSchema>;
export type ResolvedPackModelOptions = z.output<typeof PackModelOptionsSchema>;
