import { WindowLimit } from "@bms/shared";
import type { HealthSettings, WarrantyTerms } from "@bms/shared/config/rules-config";
import { z } from "zod";
import type { PackObservation } from "../rules/pack-observation";
import { type HealthState, MONTHS_KEPT, type MonthCounters, type StressCounters } from "./health-state";

/**
 * The usage and stress tally: throughput (Ah and kWh, charged and discharged), hours per SOC band ×
 * temperature band, hours per C-rate band, time outside the operating window and time at high SOC
 * and high temperature together, per pack and per month.
 *
 * Each sample counts the time since the sample before it (capped by health.maxSampleGapS) at its
 * own rates: its current, power, bands and flags (`SampleRates`). The live lane counts in order;
 * the samples of a gap it stepped over (an agent's backlog) come later and are put in their place
 * by `fillRates`: the live sample after the gap is re-counted from the newest back-filled one with
 * the rates kept in the gap, so every sample is counted once, in whichever lane it came — as the
 * usage history does for the excluded conditions.
 */

const Num = z.number().refine(Number.isFinite, "a finite number");

/** What one sample adds per second it stands for. */
export const SampleRates = z.object({
  ts: z.number(),
  /** Seconds counted for it (its time since the sample before). */
  seconds: Num,
  chargeA: Num,
  dischargeA: Num,
  chargeW: Num,
  dischargeW: Num,
  stressKey: z.string().max(64),
  cRateKey: z.string().max(64),
  outside: z.array(WindowLimit).max(6),
  highSocHighTemperature: z.boolean(),
});
export type SampleRates = z.infer<typeof SampleRates>;

/** A gap being back-filled: the live sample after it, to re-count once the gap's samples are in. */
export const HealthFill = z.object({ next: SampleRates });
export type HealthFill = z.infer<typeof HealthFill>;

function trim(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/**
 * The band of `value` between rising `edges`, with its unit: "25-35 °C", "below -10 °C",
 * "55 °C and above" (`closedTop`: the last edge belongs to the last band, as 100 % SOC does).
 */
export function bandLabel(value: number, edges: readonly number[], unit = "", closedTop = false): string {
  const first = edges[0] as number;
  const last = edges[edges.length - 1] as number;
  if (value < first) return `below ${trim(first)}${unit}`;
  if (value > last || (value === last && !closedTop)) return `${trim(last)}${unit} and above`;
  for (let i = 1; i < edges.length; i++) {
    if (value < (edges[i] as number) || i === edges.length - 1) return `${trim(edges[i - 1] as number)}-${trim(edges[i] as number)}${unit}`;
  }
  return `${trim(last)}${unit} and above`;
}

/** Which of `edges`' bands `value` is in: 0 below the first edge, edges.length at or above the last (see bandLabel). */
function bandIndex(value: number, edges: readonly number[], closedTop: boolean): number {
  const last = edges.length - 1;
  if (value < (edges[0] as number)) return 0;
  if (value > (edges[last] as number) || (value === edges[last] && !closedTop)) return edges.length;
  for (let i = 1; i < last; i++) if (value < (edges[i] as number)) return i;
  return Math.max(1, last);
}

/** Labels per band of one edge list, made once: a key per sample costs no string building. */
const bandLabels = new WeakMap<readonly number[], Map<string, string[]>>();
function cachedBandLabel(value: number, edges: readonly number[], unit: string, closedTop = false): string {
  let byUnit = bandLabels.get(edges);
  if (!byUnit) {
    byUnit = new Map();
    bandLabels.set(edges, byUnit);
  }
  const variant = `${unit}|${closedTop}`;
  let labels = byUnit.get(variant);
  if (!labels) {
    // A value inside each band gives its label.
    labels = Array.from({ length: edges.length + 1 }, (_, i) => {
      const inside = i === 0 ? (edges[0] as number) - 1 : i === edges.length ? (edges[edges.length - 1] as number) + 1 : (edges[i - 1] as number);
      return bandLabel(inside, edges, unit, closedTop);
    });
    byUnit.set(variant, labels);
  }
  return labels[bandIndex(value, edges, closedTop)] as string;
}

/**
 * The keys of one settings object, made once each: per SOC band, per temperature band (the last
 * index for "unknown"). The same string every time is hashed once, however many samples count under it.
 */
const stressKeys = new WeakMap<HealthSettings, string[][]>();

/** "soc 80-90 | 25-35 °C" (hottest sensor; "unknown °C" when no sensor reads plausibly). */
export function stressKey(soc: number, temperatureC: number | undefined, settings: HealthSettings): string {
  let keys = stressKeys.get(settings);
  if (!keys) {
    keys = [];
    stressKeys.set(settings, keys);
  }
  const socBand = bandIndex(soc, settings.socBandsPct, true);
  const temperatureBand = temperatureC === undefined ? settings.temperatureBandsC.length + 1 : bandIndex(temperatureC, settings.temperatureBandsC, false);
  let row = keys[socBand];
  if (!row) {
    row = [];
    keys[socBand] = row;
  }
  let key = row[temperatureBand];
  if (key === undefined) {
    const t = temperatureC === undefined ? "unknown °C" : cachedBandLabel(temperatureC, settings.temperatureBandsC, " °C");
    key = `soc ${cachedBandLabel(soc, settings.socBandsPct, "", true)} | ${t}`;
    row[temperatureBand] = key;
  }
  return key;
}

/** "rest", "charge 0.5-1 C", "discharge 1 C and above": made once per settings object and band. */
const cRateKeys = new WeakMap<HealthSettings, { charge: string[]; discharge: string[] }>();

function cRateKey(obs: PackObservation, cRate: number, settings: HealthSettings): string {
  if (obs.state === "rest") return "rest";
  let keys = cRateKeys.get(settings);
  if (!keys) {
    keys = { charge: [], discharge: [] };
    cRateKeys.set(settings, keys);
  }
  const direction = obs.state === "charging" ? "charge" : "discharge";
  const band = bandIndex(cRate, settings.cRateBands, false);
  let key = keys[direction][band];
  if (key === undefined) {
    key = `${direction} ${cachedBandLabel(cRate, settings.cRateBands, " C")}`;
    keys[direction][band] = key;
  }
  return key;
}

/**
 * A sample's rates: what it adds per second it stands for, and the `seconds` it stands for (0 for a
 * back-filled one: its place in the gap decides). Made as one literal, never spread into another:
 * V8 put the spread copy made per sample in its old generation (60 MB over 170 000 samples, a
 * sampling heap profile), where only the full collections sweep it.
 */
export function ratesOf(obs: PackObservation, terms: WarrantyTerms, settings: HealthSettings, seconds = 0): SampleRates {
  const s = obs.sample;
  const tMax = obs.metric("temperature-max")?.value;
  const tMin = obs.metric("temperature-min")?.value;
  const chargeC = obs.metric("charge-c-rate")?.value ?? 0;
  const dischargeC = obs.metric("discharge-c-rate")?.value ?? 0;
  const w = terms.operatingWindow;
  const outside: WindowLimit[] = [];
  if (tMax !== undefined && tMax > w.maxTemperatureC) outside.push("temperature-high");
  if (tMin !== undefined && tMin < w.minTemperatureC) outside.push("temperature-low");
  if (s.soc > w.maxSocPct) outside.push("soc-high");
  if (s.soc < w.minSocPct) outside.push("soc-low");
  if (chargeC > w.maxChargeC) outside.push("charge-c-rate");
  if (dischargeC > w.maxDischargeC) outside.push("discharge-c-rate");
  return {
    ts: obs.ts,
    seconds,
    chargeA: Math.max(0, s.current),
    dischargeA: Math.max(0, -s.current),
    chargeW: Math.max(0, s.current) * s.packVoltage,
    dischargeW: Math.max(0, -s.current) * s.packVoltage,
    stressKey: stressKey(s.soc, tMax, settings),
    cRateKey: cRateKey(obs, Math.max(chargeC, dischargeC), settings),
    outside,
    highSocHighTemperature: tMax !== undefined && s.soc >= terms.highSocPct && tMax >= terms.highTemperatureC,
  };
}

/** The month monthOf answered last, with its bounds: samples come in time order, mostly in one month. */
let lastMonth = { from: 0, to: -1, month: "" };

/** UTC month of a time, YYYY-MM. */
export function monthOf(ts: number): string {
  if (ts >= lastMonth.from && ts < lastMonth.to) return lastMonth.month;
  const d = new Date(ts);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  lastMonth = { from, to, month: d.toISOString().slice(0, 7) };
  return lastMonth.month;
}

function newMonth(month: string): MonthCounters {
  return {
    month,
    hours: 0,
    chargedAh: 0,
    dischargedAh: 0,
    chargedKWh: 0,
    dischargedKWh: 0,
    outsideAnyS: 0,
    highSocHighTemperatureH: 0,
    maxTemperatureC: null,
    minSocPct: null,
  };
}

/** The month's counters (made in order; the oldest beyond MONTHS_KEPT are dropped); null for a month older than those kept. */
function monthCounters(state: HealthState, ts: number): MonthCounters | null {
  const month = monthOf(ts);
  const months = state.months;
  const found = months.find((m) => m.month === month);
  if (found) return found;
  if (months.length >= MONTHS_KEPT && month < (months[0] as MonthCounters).month) return null;
  const made = newMonth(month);
  months.push(made);
  months.sort((a, b) => (a.month < b.month ? -1 : 1));
  if (months.length > MONTHS_KEPT) months.splice(0, months.length - MONTHS_KEPT);
  return made;
}

const add = (value: number, delta: number) => Math.max(0, value + delta);

function countInto(c: StressCounters | MonthCounters, rates: Omit<SampleRates, "ts" | "seconds">, seconds: number): void {
  const hours = seconds / 3600;
  c.hours = add(c.hours, hours);
  c.chargedAh = add(c.chargedAh, rates.chargeA * hours);
  c.dischargedAh = add(c.dischargedAh, rates.dischargeA * hours);
  c.chargedKWh = add(c.chargedKWh, (rates.chargeW * hours) / 1000);
  c.dischargedKWh = add(c.dischargedKWh, (rates.dischargeW * hours) / 1000);
  if (rates.outside.length > 0) c.outsideAnyS = add(c.outsideAnyS, seconds);
  if (rates.highSocHighTemperature) c.highSocHighTemperatureH = add(c.highSocHighTemperatureH, hours);
}

/** Adds `seconds` (negative: a correction) of a sample's rates to the pack's counters and its month's. */
export function countRates(state: HealthState, rates: Omit<SampleRates, "seconds">, seconds: number): void {
  if (seconds === 0) return;
  const c = state.counters;
  countInto(c, rates, seconds);
  const hours = seconds / 3600;
  c.stressHours[rates.stressKey] = add(c.stressHours[rates.stressKey] ?? 0, hours);
  c.cRateHours[rates.cRateKey] = add(c.cRateHours[rates.cRateKey] ?? 0, hours);
  for (const limit of rates.outside) c.outsideS[limit] = add(c.outsideS[limit] ?? 0, seconds);
  const month = monthCounters(state, rates.ts);
  if (month) countInto(month, rates, seconds);
}

function further(current: { value: number; at: number } | null, value: number | undefined, at: number, sign: 1 | -1) {
  if (value === undefined) return current;
  return current === null || sign * value > sign * current.value ? { value, at } : current;
}

/** The hottest and coldest sensor, the deepest discharge and the fastest C-rates, with when (order does not matter: both lanes). */
export function recordExtremes(state: HealthState, obs: PackObservation): void {
  const e = state.extremes;
  const ts = obs.ts;
  const tMax = obs.metric("temperature-max")?.value;
  const tMin = obs.metric("temperature-min")?.value;
  e.maxTemperatureC = further(e.maxTemperatureC, tMax, ts, 1);
  e.minTemperatureC = further(e.minTemperatureC, tMin, ts, -1);
  e.minSocPct = further(e.minSocPct, obs.sample.soc, ts, -1);
  const chargeC = obs.metric("charge-c-rate")?.value;
  const dischargeC = obs.metric("discharge-c-rate")?.value;
  if (chargeC !== undefined && chargeC > 0) e.maxChargeC = further(e.maxChargeC, chargeC, ts, 1);
  if (dischargeC !== undefined && dischargeC > 0) e.maxDischargeC = further(e.maxDischargeC, dischargeC, ts, 1);
  const month = monthCounters(state, ts);
  if (month) {
    if (tMax !== undefined) month.maxTemperatureC = month.maxTemperatureC === null ? tMax : Math.max(month.maxTemperatureC, tMax);
    month.minSocPct = month.minSocPct === null ? obs.sample.soc : Math.min(month.minSocPct, obs.sample.soc);
  }
}

/** Seconds a sample stands for: its time since `fromTs`, capped (a longer gap is not known to be like the samples around it). */
export function secondsSince(ts: number, fromTs: number | null, settings: HealthSettings): number {
  return fromTs === null ? 0 : Math.max(0, Math.min(settings.maxSampleGapS, (ts - fromTs) / 1000));
}

/**
 * A back-filled sample of a gap, after `fromTs` (the gap's sample before it): counted in its
 * place, then the live sample after the gap re-counted from it. Samples outside the gap are ignored.
 */
export function fillRates(state: HealthState, rates: Omit<SampleRates, "seconds">, fromTs: number, fill: HealthFill, settings: HealthSettings): boolean {
  const next = fill.next;
  if (rates.ts <= fromTs || rates.ts >= next.ts) return false;
  countRates(state, rates, secondsSince(rates.ts, fromTs, settings));
  const nextSeconds = secondsSince(next.ts, rates.ts, settings);
  countRates(state, next, nextSeconds - next.seconds);
  next.seconds = nextSeconds;
  return true;
}
