import { z } from "zod";
import { BmsAlarmCode } from "../bms-alarms";
import { Id } from "../ids";
import { Chemistry } from "../pack-meta";
import { RuleId, Severity } from "../support-case";
import { PositiveSeconds, Seconds } from "./durations";

export { HealthSettings } from "./health-settings";
export { OperatingWindow, WarrantyTerms } from "./warranty-terms";

/**
 * The rule file (docs/rules-and-cases.md): which conditions open support cases, with values per
 * chemistry, overridable per site and per pack. The shipped defaults are
 * services/ingestion/rules/default-rules.yaml; a site's own file is layered over them.
 */

const Ratio = z.number().min(0).max(1);

/** What a threshold rule compares, from one pack sample (implausible cells and sensors left out). */
export const ThresholdMetric = z.enum([
  /** V: the highest cell. */
  "cell-voltage-max",
  /** V: the lowest cell. */
  "cell-voltage-min",
  /** V: pack voltage ÷ cell count (so one threshold fits 16 and 15 cells). */
  "pack-voltage-per-cell",
  /** %: how far the pack voltage is from the sum of its cells (a blown fuse, an open contactor, a bad tap). */
  "pack-voltage-mismatch",
  /** A, ≥ 0: the current while charging. */
  "charge-current",
  /** A, ≥ 0: the current while discharging. */
  "discharge-current",
  /** C (A ÷ rated Ah): the charge current. */
  "charge-c-rate",
  /** C: the discharge current. */
  "discharge-c-rate",
  /** °C: the hottest sensor. */
  "temperature-max",
  /** °C: the coldest sensor. */
  "temperature-min",
  /** %. */
  "soc",
  /** %. */
  "soh",
  /** kΩ, where the BMS measures it. */
  "insulation-resistance",
]);
export type ThresholdMetric = z.infer<typeof ThresholdMetric>;

/** When a rule looks at a sample: `rest` = |current| ≤ settings.restCurrentC × rated Ah. */
export const CurrentState = z.enum(["any", "charging", "discharging", "rest"]);
export type CurrentState = z.infer<typeof CurrentState>;

/**
 * One severity level of a threshold: it starts to hold when the value passes `threshold`, fires
 * once it has held `holdS` seconds over at least `minSamples` samples (so one bad sample never
 * fires), or at once when the BMS itself reports a `confirmedBy` code in the same sample; it clears
 * only when the value is back past `clear` (hysteresis). For a pack that does not report the value
 * at all, a `confirmedBy` code alone fires the level, and clears it when it goes.
 */
export const ThresholdLevel = z
  .object({
    threshold: z.number(),
    clear: z.number(),
    /** @default 0 */
    holdS: Seconds.default(0),
    /** @default 2 */
    minSamples: z.number().int().min(1).max(10_000).default(2),
    /** @default [] */
    confirmedBy: z.array(BmsAlarmCode).max(32).default([]),
  })
  .strict();
export type ThresholdLevel = z.infer<typeof ThresholdLevel>;

const Levels = z
  .partialRecord(Severity, ThresholdLevel.nullable())
  .refine((levels) => Object.values(levels).some((level) => level !== null), { message: "at least one severity level" });

const common = {
  title: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  /** @default true */
  enabled: z.boolean().default(true),
  /** False: the rule's firings are logged, counted and listed as evidence, but open no case. @default true */
  opensCase: z.boolean().default(true),
  /**
   * Rules whose firing on the same pack (active, or within settings.explainWindowS) explains this
   * one: it is then recorded on that rule's case (as evidence; the case keeps its severity) instead
   * of opening its own. @default []
   */
  explainedBy: z.array(RuleId).max(32).default([]),
};

export const ThresholdRule = z
  .object({
    kind: z.literal("threshold"),
    ...common,
    metric: ThresholdMetric,
    direction: z.enum(["above", "below"]),
    /** @default "any" */
    when: CurrentState.default("any"),
    levels: Levels,
  })
  .strict();

/** max − min of the cell voltages (mV) or sensor temperatures (°C): one threshold per severity. */
export const CellSpreadRule = z
  .object({
    kind: z.literal("cell-spread"),
    ...common,
    quantity: z.enum(["voltage", "temperature"]),
    /** Spread under load mixes resistance into it; at rest it is the imbalance itself. @default "rest" */
    when: CurrentState.default("rest"),
    /** Thresholds in mV (voltage) or °C (temperature). */
    levels: Levels,
  })
  .strict();

/** A condition that comes and goes: fires when it started `count` times within `windowS`. */
export const RepeatingRule = z
  .object({
    kind: z.literal("repeating"),
    ...common,
    metric: ThresholdMetric,
    direction: z.enum(["above", "below"]),
    /** @default "any" */
    when: CurrentState.default("any"),
    threshold: z.number(),
    /** The value must come back past this before the next start counts. */
    clear: z.number(),
    count: z.number().int().min(2).max(10_000),
    windowS: PositiveSeconds,
    severity: Severity,
  })
  .strict();

/**
 * dT/dt of one sensor over consecutive windows: fires when it rises at least `minRatePerMin` in
 * the latest window, started at `minStartRatePerMin` or more `windows` windows ago, and grew by at
 * least `accelerationFactor` from each window to the next (self-heating that speeds up: a thermal
 * runaway precursor). A step in the heating (a hot busbar switched on) does not accelerate twice.
 */
export const RateOfChangeRule = z
  .object({
    kind: z.literal("rate-of-change"),
    ...common,
    quantity: z.literal("temperature"),
    /** @default 60 */
    windowS: PositiveSeconds.default(60),
    /** Consecutive windows that must each speed up. @default 3 */
    windows: z.number().int().min(2).max(10).default(3),
    minRatePerMin: z.number().positive(),
    minStartRatePerMin: z.number().min(0),
    /** @default 1.2 */
    accelerationFactor: z.number().min(1).max(100).default(1.2),
    /** Samples a window needs to count. @default 3 */
    minSamplesPerWindow: z.number().int().min(2).max(10_000).default(3),
    severity: Severity,
  })
  .strict();

/**
 * One cell drifting from its neighbours at rest: its voltage falls below the median of the others
 * and keeps falling over `windowS` (self-discharge: an internal short), or its temperature stays
 * above the median of the other sensors (a cell that makes its own heat). Needs a rest of at least
 * `windowS` for the voltage part.
 */
export const CellDriftRule = z
  .object({
    kind: z.literal("cell-drift"),
    ...common,
    /** @default "rest" */
    when: CurrentState.default("rest"),
    /**
     * A stricter rest for this rule, C: a small load (a house's base load at night) pulls the
     * weakest cell down at the knee of the curve, which is not self-discharge. @default 0.01
     */
    maxCurrentC: z.number().min(0).max(10).default(0.01),
    voltage: z
      .object({
        windowS: PositiveSeconds,
        /** The cell is at least this far below the median now. */
        minDeviationMv: z.number().positive(),
        /** And fell at least this much relative to the median over the window. */
        minDropMv: z.number().positive(),
      })
      .strict()
      .nullable()
      .default(null),
    temperature: z
      .object({
        /** A sensor at least this much above the median of the others… */
        minDeviationC: z.number().positive(),
        /** …for this long. */
        holdS: Seconds,
        /** It clears below this deviation. */
        clearC: z.number().min(0),
      })
      .strict()
      .nullable()
      .default(null),
    severity: Severity,
  })
  .strict()
  .refine((r) => r.voltage !== null || r.temperature !== null, { message: "needs voltage or temperature settings" });

/**
 * Sensors and cell taps that read nonsense: a temperature at a rail or jumping faster than any
 * cell can heat (open or shorted thermistor), a cell voltage at a rail (open tap, BMS cable), or a
 * sensor stuck at one value while the others move. Such readings are also kept out of every other
 * rule.
 */
export const SensorFaultRule = z
  .object({
    kind: z.literal("sensor-fault"),
    ...common,
    /** °C: at or beyond these a thermistor is open / shorted. */
    temperatureRailLowC: z.number(),
    temperatureRailHighC: z.number(),
    /** °C per second: no cell heats or cools faster. */
    maxStepCPerS: z.number().positive(),
    /** V: a cell reading outside these is a measurement, not a cell. */
    cellVoltageRailLowV: z.number().min(0),
    cellVoltageRailHighV: z.number().positive(),
    /** An implausible reading must persist this long (and over 2 samples) to fire. @default 10 */
    holdS: Seconds.default(10),
    severity: Severity,
    stuck: z
      .object({
        windowS: PositiveSeconds,
        /** The median of the other sensors moved at least this much over the window… */
        minNeighbourChangeC: z.number().positive(),
        /** …while this one moved no more than this. */
        maxOwnChangeC: z.number().min(0),
        severity: Severity,
      })
      .strict()
      .nullable()
      .default(null),
  })
  .strict();

/**
 * A pack that sends nothing while its site still reports (other packs' samples, the agent's
 * status): silence measured on the site's own clock, so a slow link or a replayed outbox does not
 * fire it, and a whole silent site is one `site-offline` case rather than one per pack.
 */
export const NoDataRule = z
  .object({
    kind: z.literal("no-data"),
    ...common,
    timeoutS: PositiveSeconds,
    /** The timeout is at least this many of the pack's usual sample intervals. @default 5 */
    missedSamples: z.number().min(1).max(1000).default(5),
    severity: Severity,
  })
  .strict();

/** Nothing at all from a site (no sample, no status), or its agent offline, for `timeoutS` of the ingestion's clock. */
export const SiteOfflineRule = z
  .object({
    kind: z.literal("site-offline"),
    ...common,
    timeoutS: PositiveSeconds,
    severity: Severity,
  })
  .strict();

/**
 * Alarms the BMS itself reports (SunSpec 802 Evt1 names). A code that holds `confirmS` opens a
 * case, unless a rule in its `explainedBy` fired on the pack (then the code is added to that
 * rule's case as evidence): a BMS that trips on over-voltage while every cell reads normal is a
 * BMS problem worth its own case.
 */
export const BmsAlarmRule = z
  .object({
    kind: z.literal("bms-alarm"),
    ...common,
    /** @default 30 */
    confirmS: Seconds.default(30),
    codes: z.partialRecord(
      BmsAlarmCode,
      z
        .object({
          severity: Severity,
          /** Overrides the rule's confirmS for this code. */
          confirmS: Seconds.optional(),
          /** @default [] */
          explainedBy: z.array(RuleId).max(32).default([]),
        })
        .strict()
        .nullable(),
    ),
  })
  .strict();

/** The edge agent's poll counters (site status `agent.devices[]`): failed polls ÷ polls over a window. */
export const LinkErrorsRule = z
  .object({
    kind: z.literal("link-errors"),
    ...common,
    windowS: PositiveSeconds,
    /** Polls the window needs before the ratio counts. */
    minPolls: z.number().int().min(1),
    errorRatio: Ratio,
    /** It clears below this ratio. */
    clearRatio: Ratio,
    severity: Severity,
  })
  .strict();

export const RuleDefinition = z.discriminatedUnion("kind", [
  ThresholdRule,
  CellSpreadRule,
  RepeatingRule,
  RateOfChangeRule,
  CellDriftRule,
  SensorFaultRule,
  NoDataRule,
  SiteOfflineRule,
  BmsAlarmRule,
  LinkErrorsRule,
]);
export type RuleDefinition = z.infer<typeof RuleDefinition>;
export type RuleKind = RuleDefinition["kind"];
export type RuleOfKind<K extends RuleKind> = Extract<RuleDefinition, { kind: K }>;

export const RuleSettings = z
  .object({
    /** Used when a pack's meta does not name its chemistry. @default "LFP" */
    defaultChemistry: Chemistry.default("LFP"),
    /** |current| at or below this × rated Ah is rest. @default 0.05 */
    restCurrentC: z.number().min(0).max(10).default(0.05),
    /** Rated capacity when the meta has none (for C-rates), Ah. @default 100 */
    defaultRatedCapacityAh: z.number().positive().max(100_000).default(100),
    /** How long a rule's firing explains another's on the same pack, s. @default 3600 */
    explainWindowS: Seconds.default(3600),
    /** Freeze frame: samples kept before a trigger, s. @default 120 */
    freezeFrameBeforeS: Seconds.default(120),
    /** Freeze frame: samples collected after a trigger, s. @default 60 */
    freezeFrameAfterS: Seconds.default(60),
    /** At most this many samples per side of a freeze frame (older ones are thinned out). @default 240 */
    freezeFrameMaxSamples: z.number().int().min(1).max(10_000).default(240),
  })
  .strict();
export type RuleSettings = z.infer<typeof RuleSettings>;

/** A rule file: every part optional, layered over the defaults by rule ID (objects merge, arrays and values replace). */
export const RuleFile = z
  .object({
    version: z.literal(1).default(1),
    /** Start from nothing instead of the shipped defaults. @default false */
    replaceDefaults: z.boolean().default(false),
    settings: z.record(z.string(), z.unknown()).default({}),
    warranty: z.record(z.string(), z.unknown()).default({}),
    /** How pack health is estimated (HealthSettings). */
    health: z.record(z.string(), z.unknown()).default({}),
    /** Rule ID → definition (new rules) or the fields to change (existing ones). */
    rules: z.record(RuleId, z.record(z.string(), z.unknown())).default({}),
    /** Chemistry → settings, warranty terms and rule fields for packs of that chemistry. */
    chemistries: z
      .partialRecord(
        Chemistry,
        z
          .object({
            settings: z.record(z.string(), z.unknown()).default({}),
            warranty: z.record(z.string(), z.unknown()).default({}),
            health: z.record(z.string(), z.unknown()).default({}),
            rules: z.record(RuleId, z.record(z.string(), z.unknown())).default({}),
          })
          .strict(),
      )
      .default({}),
    /**
     * Product (the pack meta's `model`) → its warranty terms and health settings, layered over its
     * chemistry's: each product's own operating window, warranted years, end-of-life SOH, throughput.
     */
    products: z
      .record(
        z.string().min(1).max(64),
        z
          .object({
            warranty: z.record(z.string(), z.unknown()).default({}),
            health: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .default({}),
    /** Site ID → chemistry (when the meta does not tell) and rule fields for that site. */
    sites: z
      .record(Id, z.object({ chemistry: Chemistry.optional(), rules: z.record(RuleId, z.record(z.string(), z.unknown())).default({}) }).strict())
      .default({}),
    /** `siteId/packId` → chemistry, rated capacity and rule fields for that pack (applied after the site's). */
    packs: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]{1,64}$/, "a key like site-1/pack-2"),
        z
          .object({
            chemistry: Chemistry.optional(),
            ratedCapacityAh: z.number().positive().max(100_000).optional(),
            rules: z.record(RuleId, z.record(z.string(), z.unknown())).default({}),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();
export type RuleFile = z.infer<typeof RuleFile>;
export type RuleFileInput = z.input<typeof RuleFile>;
