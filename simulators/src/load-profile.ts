import { z } from "zod";
import type { SeededRandom } from "./seeded-random";

const Amps = z.number().min(-100_000).max(100_000);

export const ConstantLoadSchema = z
  .object({
    kind: z.literal("constant"),
    /** A, + charging. */
    amps: Amps,
  })
  .strict();

/** The first simulator's seeded slow cycle (see CycleLoadProfile). */
export const CycleLoadSchema = z.object({ kind: z.literal("cycle") }).strict();

/**
 * A solar + backup day, time of day from the pack's `startHour`: PV charges along a half sine
 * between sunrise and sunset, the house draws a base load all day and more in the evening; the
 * net current flows into or out of the pack. Amps are for the whole pack.
 */
export const DailyLoadSchema = z
  .object({
    kind: z.literal("daily"),
    /** Hour PV starts producing. @default 6 */
    sunriseHour: z.number().min(0).max(24).default(6),
    /** Hour PV stops. @default 18 */
    sunsetHour: z.number().min(0).max(24).default(18),
    /** PV charge current at solar noon on a clear day, A. @default 40 */
    pvPeakA: z.number().min(0).max(100_000).default(40),
    /** House load all day, A (discharge, positive number). @default 5 */
    baseLoadA: z.number().min(0).max(100_000).default(5),
    /** Extra evening load, A. @default 20 */
    eveningLoadA: z.number().min(0).max(100_000).default(20),
    /** Evening load from this hour... @default 18 */
    eveningStartHour: z.number().min(0).max(24).default(18),
    /** ...to this hour. @default 23 */
    eveningEndHour: z.number().min(0).max(24).default(23),
    /** 0 = clear skies; up to 1 = each day's PV drawn from (1 − cloudiness)–100 % of peak, with passing clouds. @default 0.2 */
    cloudiness: z.number().min(0).max(1).default(0.2),
  })
  .strict()
  .refine((d) => d.sunriseHour < d.sunsetHour, { message: "sunriseHour must be before sunsetHour", path: ["sunsetHour"] });

/** A recorded current trace: [seconds since start, A] points, linear between them. */
export const TraceLoadSchema = z
  .object({
    kind: z.literal("trace"),
    points: z
      .array(z.tuple([z.number().min(0).max(1e9), Amps]))
      .min(1)
      .max(1_000_000)
      .refine((points) => points.every((p, i) => i === 0 || p[0] > (points[i - 1]?.[0] ?? -1)), {
        message: "point times must increase strictly",
      }),
    /** After the last point: `hold` its current, or `repeat` the trace from its first point. @default "hold" */
    after: z.enum(["hold", "repeat"]).default("hold"),
  })
  .strict();

export const LoadSettingSchema = z.discriminatedUnion("kind", [ConstantLoadSchema, CycleLoadSchema, DailyLoadSchema, TraceLoadSchema]);
export type LoadSetting = z.input<typeof LoadSettingSchema>;
export type ResolvedLoadSetting = z.output<typeof LoadSettingSchema>;

/** The current a load asks for; the BMS may allow less (see PackModel's current limits). */
export interface LoadProfile {
  /** Requested current in A (+ charging) for the next `dtSeconds` starting at `simulatedSeconds`, given the BMS SOC in %. */
  request(socPercent: number, dtSeconds: number, simulatedSeconds: number): number;
}

type Phase = "charge" | "rest-after-charge" | "discharge" | "rest-after-discharge";

/**
 * A slow charge/discharge cycle (solar day in miniature): charge at 0.2–0.45 C to an upper SOC
 * (95–99 %, tapering over the last 4 %), rest, discharge at 0.25–0.5 C to a lower SOC (8–20 %),
 * rest, repeat. Magnitudes, targets and rests are drawn once from the pack's PRNG; small noise per step.
 */
export class CycleLoadProfile implements LoadProfile {
  private phase: Phase;
  private restLeft = 0;
  private readonly chargeA: number;
  private readonly dischargeA: number;
  private readonly upperSoc: number;
  private readonly lowerSoc: number;
  private readonly restSeconds: number;

  constructor(
    private readonly random: SeededRandom,
    capacityAh: number,
  ) {
    this.chargeA = capacityAh * random.between(0.2, 0.45);
    this.dischargeA = capacityAh * random.between(0.25, 0.5);
    this.upperSoc = random.between(95, 99);
    this.lowerSoc = random.between(8, 20);
    this.restSeconds = random.between(120, 600);
    this.phase = random.next() < 0.5 ? "charge" : "discharge";
  }

  request(socPercent: number, dtSeconds: number): number {
    const noise = 1 + this.random.between(-0.02, 0.02);
    switch (this.phase) {
      case "charge":
        if (socPercent >= this.upperSoc) return this.rest("rest-after-charge");
        return this.chargeA * Math.min(1, Math.max(0.1, (this.upperSoc - socPercent) / 4)) * noise;
      case "discharge":
        if (socPercent <= this.lowerSoc) return this.rest("rest-after-discharge");
        return -this.dischargeA * noise;
      case "rest-after-charge":
      case "rest-after-discharge":
        this.restLeft -= dtSeconds;
        if (this.restLeft <= 0) this.phase = this.phase === "rest-after-charge" ? "discharge" : "charge";
        return 0;
    }
  }

  private rest(phase: Phase): number {
    this.phase = phase;
    this.restLeft = this.restSeconds;
    return 0;
  }
}

export class ConstantLoadProfile implements LoadProfile {
  constructor(private readonly amps: number) {}

  request(): number {
    return this.amps;
  }
}

type DailyLoad = z.output<typeof DailyLoadSchema>;

/** Seconds a passing cloud lasts; one draw per cloud window keeps the draws independent of the step size. */
const CLOUD_WINDOW_S = 600;

export class DailyLoadProfile implements LoadProfile {
  /** Day index → that day's clear-sky fraction; cloud window index → that window's dip. Drawn lazily, in order. */
  private readonly dayFactor: number[] = [];
  private readonly cloudFactor: number[] = [];

  constructor(
    private readonly setting: DailyLoad,
    private readonly startHour: number,
    private readonly random: SeededRandom,
  ) {}

  request(_soc: number, _dt: number, simulatedSeconds: number): number {
    const s = this.setting;
    const hours = this.startHour + simulatedSeconds / 3600;
    const day = Math.floor(hours / 24);
    const hour = hours - day * 24;
    let pv = 0;
    if (hour > s.sunriseHour && hour < s.sunsetHour) {
      const clearSky = s.pvPeakA * Math.sin((Math.PI * (hour - s.sunriseHour)) / (s.sunsetHour - s.sunriseHour));
      pv = clearSky * this.drawn(this.dayFactor, day, () => 1 - s.cloudiness * this.random.next());
      const window = Math.floor(simulatedSeconds / CLOUD_WINDOW_S);
      pv *= this.drawn(this.cloudFactor, window, () => (this.random.next() < s.cloudiness ? this.random.between(0.3, 0.9) : 1));
    }
    const evening = hour >= s.eveningStartHour && hour < s.eveningEndHour ? s.eveningLoadA : 0;
    return pv - s.baseLoadA - evening;
  }

  /** Draws entries up to `index` in order, so the sequence of draws does not depend on the step size. */
  private drawn(cache: number[], index: number, draw: () => number): number {
    while (cache.length <= index) cache.push(draw());
    return cache[index] ?? 1;
  }
}

type TraceLoad = z.output<typeof TraceLoadSchema>;

export class TraceLoadProfile implements LoadProfile {
  /** Index of the segment found last time: playback moves forward, so the search starts here. */
  private cursor = 0;

  constructor(private readonly setting: TraceLoad) {}

  request(_soc: number, _dt: number, simulatedSeconds: number): number {
    const points = this.setting.points;
    const first = points[0];
    const last = points[points.length - 1];
    if (!first || !last) return 0;
    let t = simulatedSeconds;
    if (t <= first[0]) return first[1];
    if (t >= last[0]) {
      const span = last[0] - first[0];
      if (this.setting.after === "hold" || span <= 0) return last[1];
      t = first[0] + ((t - first[0]) % span);
    }
    if ((points[this.cursor]?.[0] ?? 0) > t) this.cursor = 0;
    while (this.cursor < points.length - 2 && (points[this.cursor + 1]?.[0] ?? 0) <= t) this.cursor++;
    const a = points[this.cursor];
    const b = points[this.cursor + 1];
    if (!a || !b) return last[1];
    return a[1] + ((t - a[0]) / (b[0] - a[0])) * (b[1] - a[1]);
  }
}

/** Builds the profile a setting describes; `random` is the load's own seeded stream. */
export function createLoadProfile(setting: ResolvedLoadSetting, capacityAh: number, startHour: number, random: SeededRandom): LoadProfile {
  switch (setting.kind) {
    case "constant":
      return new ConstantLoadProfile(setting.amps);
    case "cycle":
      return new CycleLoadProfile(random, capacityAh);
    case "daily":
      return new DailyLoadProfile(setting, startHour, random);
    case "trace":
      return new TraceLoadProfile(setting);
  }
}
