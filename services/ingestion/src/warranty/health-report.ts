import type { PackHealth, SiteHealth, WindowLimit } from "@bms/shared";
import type { HealthSettings, WarrantyTerms } from "@bms/shared/config/rules-config";
import { cellVerdict } from "./cell-balance";
import type { HealthState } from "./health-state";
import { ocvCurveFor } from "./pack-health";
import { recentResistance } from "./resistance-trend";
import { estimateSoh, forecastEol } from "./soh-estimator";

/**
 * The health API's answer from a pack's saved health part (health-state.ts), its warranty terms
 * and health settings: pure, so the live service computes it from the row it reads without the
 * engine, and the warranty assessment from the engine's state.
 */

const YEAR_MS = 365.25 * 86_400_000;

const r = (value: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};
const rn = (value: number | null, digits = 2) => (value === null ? null : r(value, digits));

function roundValues(record: Record<string, number>, digits: number): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, r(v, digits)]));
}

/** When the warranty started: its start date, or its end less the warranted years; null when neither is known. */
export function warrantyStartMs(state: HealthState, terms: WarrantyTerms): number | null {
  const { warrantyStart, warrantyEnd } = state.pack;
  if (warrantyStart) return Date.parse(`${warrantyStart}T00:00:00Z`);
  if (warrantyEnd) return Date.parse(`${warrantyEnd}T00:00:00Z`) - terms.warrantedYears * YEAR_MS;
  return null;
}

/** The least SOH the warranty promises `ageYears` after its start (linear from 100 % to eolSohPct). */
export function warrantedMinPct(terms: WarrantyTerms, ageYears: number): number {
  return 100 - ((100 - terms.eolSohPct) * Math.min(Math.max(ageYears, 0), terms.warrantedYears)) / terms.warrantedYears;
}

export function packHealthReport(siteId: string, packId: string, state: HealthState, terms: WarrantyTerms, settings: HealthSettings, now: number): PackHealth {
  const c = state.counters;
  const ratedAh = state.pack.ratedAh;
  const curve = ocvCurveFor(settings, state.pack.chemistry);
  const soh = estimateSoh(state.soh, ratedAh, settings, curve, state.pack.chemistry);
  const forecast = forecastEol(state.soh, ratedAh, terms.eolSohPct, settings);
  const start = warrantyStartMs(state, terms);
  const ageYears = start === null ? null : (now - start) / YEAR_MS;
  const minPct = ageYears === null ? null : warrantedMinPct(terms, ageYears);
  const throughputAh = c.chargedAh + c.dischargedAh;
  const efc = ratedAh > 0 ? throughputAh / (2 * ratedAh) : 0;
  const res = state.resistance;
  const baseline = res.baselineCount > 0 ? res.baselineSum / res.baselineCount : null;
  const recent = recentResistance(res, settings);
  const w = terms.operatingWindow;
  const outsideHours: Partial<Record<WindowLimit, number>> = {};
  for (const [limit, seconds] of Object.entries(c.outsideS) as [WindowLimit, number][]) outsideHours[limit] = r(seconds / 3600, 3);
  return {
    siteId,
    packId,
    asOf: state.lastTs,
    since: state.since,
    pack: {
      chemistry: state.pack.chemistry,
      model: state.pack.model,
      serial: state.pack.serial,
      ratedCapacityAh: state.pack.ratedAh,
      cellCount: state.pack.cellCount,
      warrantyStart: state.pack.warrantyStart,
      warrantyEnd: state.pack.warrantyEnd,
    },
    sohEstimatePct: rn(soh.pct),
    ...(soh.reason === undefined ? {} : { sohReason: soh.reason }),
    sohUncertaintyPct: rn(soh.uncertaintyPct),
    sohConfidence: soh.confidence,
    sohWindows: soh.windows,
    sohWindowsTotal: state.soh.windowsTotal,
    sohRejected: { ...state.soh.rejected },
    capacityAh: rn(soh.capacityAh, 3),
    weakestCell: soh.cell,
    bmsSohPct: state.bmsSohPct,
    eolForecast: { eolSohPct: terms.eolSohPct, ...forecast, trendPctPerYear: rn(forecast.trendPctPerYear, 3) },
    warrantedCurve: {
      warrantedYears: terms.warrantedYears,
      eolSohPct: terms.eolSohPct,
      ageYears: rn(ageYears, 3),
      warrantedMinPct: rn(minPct),
      marginPct: soh.pct === null || minPct === null ? null : r(soh.pct - minPct),
    },
    resistance: {
      milliOhm: rn(recent, 3),
      baselineMilliOhm: rn(baseline, 3),
      growthPct: recent === null || baseline === null ? null : r((recent / baseline - 1) * 100),
      steps: res.steps,
    },
    cells: cellVerdict(state.balance, state.soh.cellCapacityAh, settings),
    throughputAh: r(throughputAh, 3),
    chargedAh: r(c.chargedAh, 3),
    dischargedAh: r(c.dischargedAh, 3),
    chargedKWh: r(c.chargedKWh, 4),
    dischargedKWh: r(c.dischargedKWh, 4),
    equivalentFullCycles: r(efc, 3),
    operatingHours: r(c.hours, 3),
    stressHours: roundValues(c.stressHours, 3),
    cRateHours: roundValues(c.cRateHours, 3),
    highSocHighTemperatureHours: r(c.highSocHighTemperatureH, 3),
    extremes: { ...state.extremes },
    operatingWindow: {
      limits: {
        minTemperatureC: w.minTemperatureC,
        maxTemperatureC: w.maxTemperatureC,
        minSocPct: w.minSocPct,
        maxSocPct: w.maxSocPct,
        maxChargeC: w.maxChargeC,
        maxDischargeC: w.maxDischargeC,
        maxOutsideSharePct: w.maxOutsideSharePct,
      },
      outsideHours,
      outsideSharePct: c.hours > 0 ? r((c.outsideAnyS / 3600 / c.hours) * 100) : 0,
    },
    throughputWarranty: {
      warrantedThroughputKWh: terms.warrantedThroughputKWh,
      usedThroughputPct: terms.warrantedThroughputKWh === null ? null : r((c.dischargedKWh / terms.warrantedThroughputKWh) * 100),
      warrantedEquivalentCycles: terms.warrantedEquivalentCycles,
      usedCyclesPct: terms.warrantedEquivalentCycles === null ? null : r((efc / terms.warrantedEquivalentCycles) * 100),
    },
    months: state.months.map((m) => ({
      month: m.month,
      hours: r(m.hours, 3),
      chargedAh: r(m.chargedAh, 3),
      dischargedAh: r(m.dischargedAh, 3),
      chargedKWh: r(m.chargedKWh, 4),
      dischargedKWh: r(m.dischargedKWh, 4),
      equivalentFullCycles: ratedAh > 0 ? r((m.chargedAh + m.dischargedAh) / (2 * ratedAh), 3) : 0,
      outsideWindowHours: r(m.outsideAnyS / 3600, 3),
      highSocHighTemperatureHours: r(m.highSocHighTemperatureH, 3),
      maxTemperatureC: m.maxTemperatureC,
      minSocPct: m.minSocPct,
    })),
  };
}

function further<T extends { value: number }>(a: T | null, b: T | null, sign: 1 | -1): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return sign * b.value > sign * a.value ? b : a;
}

/** A site's packs rolled up: sums of throughput and stress, the mean of their cycles, the lowest SOH. */
export function siteHealthReport(siteId: string, packs: readonly PackHealth[]): SiteHealth {
  const stressHours: Record<string, number> = {};
  const verdicts: SiteHealth["cellVerdicts"] = {};
  let lowest: PackHealth | null = null;
  let maxT: SiteHealth["maxTemperatureC"] = null;
  let minSoc: SiteHealth["minSocPct"] = null;
  for (const p of packs) {
    for (const [band, hours] of Object.entries(p.stressHours)) stressHours[band] = r((stressHours[band] ?? 0) + hours, 3);
    verdicts[p.cells.verdict] = (verdicts[p.cells.verdict] ?? 0) + 1;
    if (p.sohEstimatePct !== null && (lowest === null || p.sohEstimatePct < (lowest.sohEstimatePct ?? Number.POSITIVE_INFINITY))) lowest = p;
    maxT = further(maxT, p.extremes.maxTemperatureC, 1);
    minSoc = further(minSoc, p.extremes.minSocPct, -1);
  }
  const sum = (pick: (p: PackHealth) => number) =>
    r(
      packs.reduce((acc, p) => acc + pick(p), 0),
      3,
    );
  return {
    siteId,
    packs: packs.length,
    throughputAh: sum((p) => p.throughputAh),
    chargedKWh: sum((p) => p.chargedKWh),
    dischargedKWh: sum((p) => p.dischargedKWh),
    equivalentFullCycles: packs.length > 0 ? r(sum((p) => p.equivalentFullCycles) / packs.length, 3) : 0,
    operatingHours: sum((p) => p.operatingHours),
    stressHours,
    highSocHighTemperatureHours: sum((p) => p.highSocHighTemperatureHours),
    lowestSohPct: lowest?.sohEstimatePct ?? null,
    lowestSohPack: lowest?.packId ?? null,
    cellVerdicts: verdicts,
    maxTemperatureC: maxT,
    minSocPct: minSoc,
  };
}
