import { type BmsAlarmCode, type Chemistry, median, type PackSample } from "@bms/shared";
import type { CurrentState, ThresholdMetric } from "@bms/shared/config/rules-config";

/** A reading kept out of the rules: a measurement fault, not a cell. */
export interface ImplausibleReading {
  kind: "temperature" | "cell-voltage";
  index: number;
  value: number;
  /** One sentence: why. */
  reason: string;
}

/** What the plausibility filter needs from the sensor-fault rule. */
export interface PlausibilityLimits {
  temperatureRailLowC: number;
  temperatureRailHighC: number;
  maxStepCPerS: number;
  cellVoltageRailLowV: number;
  cellVoltageRailHighV: number;
}

/** A flagged sensor comes back once it reads within this of the others' median again. */
const RECOVERY_BAND_C = 10;

interface SensorTrack {
  last: number | undefined;
  lastTs: number;
  flagged: string | null;
}

/**
 * The plausibility filter before the rules (one per pack): a temperature at a rail that it did not
 * reach gradually, or one that jumps faster than any cell heats, stays out of the rules until it
 * reads close to the other sensors again; a cell voltage outside its rails is out for that sample.
 * (dbus-serialbattery #1046: a single 0 V or 65 V reading raised alarms.)
 */
export class PlausibilityFilter {
  private sensors: SensorTrack[] = [];

  filter(
    sample: PackSample,
    limits: PlausibilityLimits,
  ): { cells: readonly (number | null)[]; temps: readonly (number | null)[]; implausible: ImplausibleReading[] } {
    const implausible: ImplausibleReading[] = [];
    const cells = allWithin(sample.cellVoltages, limits.cellVoltageRailLowV, limits.cellVoltageRailHighV)
      ? sample.cellVoltages
      : this.cellsWithin(sample, limits, implausible);
    const temps = this.plausibleTemperatures(sample, limits, implausible);
    return { cells, temps, implausible };
  }

  /** The cells with those outside their rails taken out (null), each reported. */
  private cellsWithin(sample: PackSample, limits: PlausibilityLimits, implausible: ImplausibleReading[]): (number | null)[] {
    return sample.cellVoltages.map((v, index) => {
      if (v >= limits.cellVoltageRailLowV && v <= limits.cellVoltageRailHighV) return v;
      const rail = v < limits.cellVoltageRailLowV ? `below the ${limits.cellVoltageRailLowV} V rail` : `above the ${limits.cellVoltageRailHighV} V rail`;
      implausible.push({ kind: "cell-voltage", index, value: v, reason: `cell ${index + 1} reads ${v} V, ${rail}: an open voltage tap or a BMS cable fault` });
      return null;
    });
  }

  /** The sensors' readings with the implausible ones taken out (null), each reported; the sample's own array when none is. */
  private plausibleTemperatures(sample: PackSample, limits: PlausibilityLimits, implausible: ImplausibleReading[]): readonly (number | null)[] {
    const raw = sample.cellTemperatures;
    while (this.sensors.length < raw.length) this.sensors.push({ last: undefined, lastTs: 0, flagged: null });
    let temps: (number | null)[] | null = null;
    for (let index = 0; index < raw.length; index++) {
      const v = raw[index] as number;
      const track = this.sensors[index] as SensorTrack;
      const atRail = v <= limits.temperatureRailLowC || v >= limits.temperatureRailHighC;
      const dtS = track.last === undefined ? 0 : Math.max(1, (sample.ts - track.lastTs) / 1000);
      const step = track.last === undefined ? 0 : Math.abs(v - track.last);
      let reason: string | null = null;
      if (track.flagged !== null) {
        const m = median(raw.filter((_, j) => j !== index && this.sensors[j]?.flagged === null));
        const back = !atRail && (m === null || Math.abs(v - m) <= RECOVERY_BAND_C);
        reason = back ? null : track.flagged;
      } else if (track.last !== undefined && step > limits.maxStepCPerS * dtS) {
        reason = `sensor ${index + 1} jumped from ${track.last} to ${v} °C in ${dtS} s, faster than ${limits.maxStepCPerS} °C/s: ${v <= track.last ? "an open" : "a shorted"} or loose thermistor`;
      } else if (atRail && track.last === undefined) {
        reason = `sensor ${index + 1} reads ${v} °C, at the ${v <= limits.temperatureRailLowC ? `${limits.temperatureRailLowC} °C` : `${limits.temperatureRailHighC} °C`} rail: ${v <= limits.temperatureRailLowC ? "an open" : "a shorted"} thermistor`;
      }
      track.flagged = reason;
      if (reason === null) {
        track.last = v;
        track.lastTs = sample.ts;
        continue;
      }
      implausible.push({ kind: "temperature", index, value: v, reason });
      temps ??= [...raw];
      temps[index] = null;
    }
    return temps ?? raw;
  }
}

type ObservedMetric = ThresholdMetric | "cell-voltage-spread" | "temperature-spread";

/** Where each metric is cached in an observation (an array: a Map per sample cost more than the metrics). */
const METRIC_SLOT: Record<ObservedMetric, number> = {
  "cell-voltage-max": 0,
  "cell-voltage-min": 1,
  "pack-voltage-per-cell": 2,
  "pack-voltage-mismatch": 3,
  "charge-current": 4,
  "discharge-current": 5,
  "charge-c-rate": 6,
  "discharge-c-rate": 7,
  "temperature-max": 8,
  "temperature-min": 9,
  soc: 10,
  soh: 11,
  "insulation-resistance": 12,
  "cell-voltage-spread": 13,
  "temperature-spread": 14,
};

/** One pack sample as the rules see it: plausible readings only, derived metrics computed once. */
export class PackObservation {
  readonly ts: number;
  readonly state: Exclude<CurrentState, "any">;
  readonly alarms: ReadonlySet<BmsAlarmCode>;
  /** Metrics computed so far, by METRIC_SLOT (undefined: not yet). */
  private readonly cache: ({ value: number; index: number | null } | null | undefined)[] = [];

  constructor(
    readonly siteId: string,
    readonly packId: string,
    readonly sample: PackSample,
    readonly chemistry: Chemistry,
    readonly ratedAh: number,
    restCurrentC: number,
    readonly cells: readonly (number | null)[],
    readonly temps: readonly (number | null)[],
    readonly implausible: readonly ImplausibleReading[],
  ) {
    this.ts = sample.ts;
    const rest = restCurrentC * ratedAh;
    this.state = sample.current > rest ? "charging" : sample.current < -rest ? "discharging" : "rest";
    this.alarms = new Set(sample.bmsAlarms ?? []);
  }

  /** True when a rule with this `when` looks at the sample. */
  matches(when: CurrentState): boolean {
    return when === "any" || when === this.state;
  }

  metric(name: ObservedMetric): { value: number; index: number | null } | null {
    const slot = METRIC_SLOT[name];
    const cached = this.cache[slot];
    if (cached !== undefined) return cached;
    const value = this.compute(name);
    this.cache[slot] = value;
    return value;
  }

  private compute(name: ObservedMetric): { value: number; index: number | null } | null {
    const s = this.sample;
    switch (name) {
      case "cell-voltage-max":
        return extreme(this.cells, 1);
      case "cell-voltage-min":
        return extreme(this.cells, -1);
      case "temperature-max":
        return extreme(this.temps, 1);
      case "temperature-min":
        return extreme(this.temps, -1);
      case "pack-voltage-per-cell":
        return s.cellVoltages.length > 0 ? { value: s.packVoltage / s.cellVoltages.length, index: null } : null;
      case "pack-voltage-mismatch": {
        if (this.cells.some((c) => c === null)) return null;
        const sum = s.cellVoltages.reduce((a, b) => a + b, 0);
        return sum > 0 ? { value: (Math.abs(s.packVoltage - sum) / sum) * 100, index: null } : null;
      }
      case "charge-current":
        return { value: Math.max(0, s.current), index: null };
      case "discharge-current":
        return { value: Math.max(0, -s.current), index: null };
      case "charge-c-rate":
        return { value: Math.max(0, s.current) / this.ratedAh, index: null };
      case "discharge-c-rate":
        return { value: Math.max(0, -s.current) / this.ratedAh, index: null };
      case "soc":
        return { value: s.soc, index: null };
      case "soh":
        return s.soh === undefined ? null : { value: s.soh, index: null };
      case "insulation-resistance":
        return s.insulationResistance === undefined ? null : { value: s.insulationResistance, index: null };
      case "cell-voltage-spread":
        return spread(this.cells, 1000);
      case "temperature-spread":
        return spread(this.temps, 1);
    }
  }
}

function allWithin(values: readonly number[], low: number, high: number): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v >= low && v <= high)) return false;
  }
  return true;
}

/** The largest (sign 1) or smallest (sign -1) plausible value and its index. */
function extreme(values: readonly (number | null)[], sign: 1 | -1): { value: number; index: number } | null {
  let index = -1;
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (index === -1 || sign * v > sign * best) {
      best = v;
      index = i;
    }
  }
  return index === -1 ? null : { value: best, index };
}

/** max − min × scale; the index is the cell furthest from the median. */
function spread(values: readonly (number | null)[], scale: number): { value: number; index: number } | null {
  const present = values.filter((v): v is number => v !== null);
  if (present.length < 2) return null;
  const max = Math.max(...present);
  const min = Math.min(...present);
  const m = median(present) ?? 0;
  let index = 0;
  let far = -1;
  values.forEach((v, i) => {
    if (v !== null && Math.abs(v - m) > far) {
      far = Math.abs(v - m);
      index = i;
    }
  });
  return { value: Math.round((max - min) * scale * 1000) / 1000, index };
}
