import { type OcvCurve, socFromOcv } from "@bms/shared";
import type { HealthSettings } from "@bms/shared/config/rules-config";
import type { PackObservation } from "../rules/pack-observation";
import { addRestToBalance } from "./cell-balance";
import { type BalanceState, type CapacityWindow, type RestPoint, type SohState, WINDOWS_KEPT } from "./health-state";

/**
 * State of health from field data, not from the BMS's SOH field: the charge counted between two
 * rests whose open-circuit voltages give each cell's SOC is that cell's capacity
 * (ΔAh ÷ ΔSOC × 100). The pack's is its weakest cell's. Live lane only: a window needs every
 * sample between its rests, and a gap in the samples breaks it (docs/warranty-analytics.md).
 *
 * LFP's curve is flat between ~15 % and ~95 % (about 1 mV per % of SOC): a rested voltage there
 * says almost nothing about SOC. A cell's rest is read only where the curve rises at least
 * health.minOcvSlopeMvPerPct, and the SOC read carries an uncertainty of ocvUncertaintyMv ÷ slope;
 * so for LFP only rests near full and near empty count, and a pack that never gets there has no
 * estimate ("not enough data") rather than a guess. NMC's curve slopes everywhere.
 */

export interface SohContext {
  settings: HealthSettings;
  ratedAh: number;
  /** The pack's OCV table; null: no estimate possible. */
  curve: OcvCurve | null;
}

function reject(state: SohState, reason: string): void {
  state.rejected[reason] = (state.rejected[reason] ?? 0) + 1;
}

/** Counts charge and follows rests; a rest that ends (current flows again) is read as OCVs. */
export function addToSoh(state: SohState, balance: BalanceState, obs: PackObservation, ctx: SohContext): void {
  const { settings } = ctx;
  const current = obs.sample.current;
  const ts = obs.ts;
  if (state.lastTs !== null && state.lastCurrent !== null) {
    if (ts - state.lastTs > settings.maxSampleGapS * 1000) {
      // Charge cannot be counted across a gap: what was open is lost.
      if (state.anchor !== null || state.rest !== null) reject(state, "a gap in the samples broke the window");
      state.anchor = null;
      state.rest = null;
    } else {
      state.ah += (((state.lastCurrent + current) / 2) * (ts - state.lastTs)) / 3_600_000;
    }
  }
  state.lastTs = ts;
  state.lastCurrent = current;
  const resting = Math.abs(current) <= settings.restCurrentC * ctx.ratedAh;
  if (resting) {
    const t = obs.metric("temperature-max")?.value ?? null;
    state.rest = { since: state.rest?.since ?? ts, ts, ah: state.ah, soc: obs.sample.soc, temperatureC: t, cells: [...obs.cells] };
    return;
  }
  const rest = state.rest;
  state.rest = null;
  if (rest === null) return;
  if (rest.ts - rest.since < settings.minRestS * 1000) return; // too short to be a rest (not counted)
  endRest(state, balance, rest, ctx);
}

/** A rest long enough: its voltages as OCVs, the window from the previous one, the cell balance. */
function endRest(state: SohState, balance: BalanceState, rest: NonNullable<SohState["rest"]>, ctx: SohContext): void {
  const { settings, curve } = ctx;
  if (curve === null) {
    reject(state, "no OCV curve for the chemistry");
    return;
  }
  const [tLow, tHigh] = settings.ocvTemperatureRangeC;
  if (rest.temperatureC === null || rest.temperatureC < tLow || rest.temperatureC > tHigh) {
    reject(state, "rest outside the OCV curve's temperature range");
    return;
  }
  const readings = rest.cells.map((v) => (v === null ? null : socFromOcv(curve, v)));
  addRestToBalance(
    balance,
    readings.map((r) => r?.socPercent ?? null),
    rest.soc,
    settings,
  );
  const socs: (number | null)[] = [];
  const sigmas: (number | null)[] = [];
  for (const r of readings) {
    // (A segment exactly at the limit counts: 5 mV over 1 % is not read as 4.999….)
    const steep = r !== null && r.slopeMvPerPct >= settings.minOcvSlopeMvPerPct - 1e-9;
    socs.push(steep ? r.socPercent : null);
    sigmas.push(steep ? settings.ocvUncertaintyMv / r.slopeMvPerPct : null);
  }
  if (socs.every((s) => s === null)) {
    reject(state, "rest on the flat part of the OCV curve");
    return;
  }
  const point: RestPoint = { ts: rest.ts, ah: rest.ah, socs, sigmas };
  if (state.anchor !== null) window(state, state.anchor, point, ctx);
  state.anchor = point;
}

/** The capacity window between two read rests: each cell's capacity, the pack's (weakest cell). */
function window(state: SohState, a: RestPoint, b: RestPoint, ctx: SohContext): void {
  const { settings, ratedAh } = ctx;
  const seconds = (b.ts - a.ts) / 1000;
  if (seconds > settings.maxWindowS) {
    reject(state, "rests too far apart");
    return;
  }
  const deltaAh = b.ah - a.ah;
  const sigmaAh = settings.currentUncertaintyC * ratedAh * (seconds / 3600);
  const found: { cell: number; capacityAh: number; sigmaAh: number }[] = [];
  let swingTooSmall = 0;
  let tooUncertain = 0;
  for (let i = 0; i < b.socs.length; i++) {
    const socA = a.socs[i];
    const socB = b.socs[i];
    if (socA === null || socA === undefined || socB === null || socB === undefined) continue;
    const swing = socB - socA;
    if (Math.abs(swing) < settings.minSwingPct || Math.sign(swing) !== Math.sign(deltaAh)) {
      swingTooSmall++;
      continue;
    }
    const capacityAh = (Math.abs(deltaAh) / Math.abs(swing)) * 100;
    const sigmaSoc = Math.hypot(a.sigmas[i] ?? 0, b.sigmas[i] ?? 0);
    const relative = Math.hypot(sigmaSoc / swing, sigmaAh / deltaAh);
    if (relative * 100 > settings.maxWindowUncertaintyPct) {
      tooUncertain++;
      continue;
    }
    found.push({ cell: i, capacityAh, sigmaAh: capacityAh * relative });
  }
  if (found.length === 0) {
    reject(state, tooUncertain > swingTooSmall ? "window too uncertain" : "SOC swing between the rests too small");
    return;
  }
  state.windowsTotal++;
  for (const f of found) {
    const n = (state.cellWindows[f.cell] ?? 0) + 1;
    while (state.cellWindows.length <= f.cell) state.cellWindows.push(0);
    while (state.cellCapacityAh.length <= f.cell) state.cellCapacityAh.push(null);
    state.cellWindows[f.cell] = n;
    const before = state.cellCapacityAh[f.cell] ?? null;
    // A running mean over the first windows, then a moving average that follows ageing.
    state.cellCapacityAh[f.cell] = before === null ? f.capacityAh : before + Math.max(0.3, 1 / n) * (f.capacityAh - before);
  }
  // The pack's capacity is its weakest cell's: the cell weakest over all windows so far, when this
  // window measured it (the smallest of one window's cells would be biased low by their noise).
  const weakest = weakestCell(state);
  const pick = found.find((f) => f.cell === weakest) ?? found.reduce((m, f) => (f.capacityAh < m.capacityAh ? f : m));
  state.windows.push({ ts: b.ts, capacityAh: pick.capacityAh, sigmaAh: pick.sigmaAh, cell: pick.cell });
  thin(state.windows);
}

/** The cell with the least capacity over its windows, or null. */
export function weakestCell(state: SohState): number | null {
  let best: number | null = null;
  state.cellCapacityAh.forEach((c, i) => {
    if (c !== null && (best === null || c < (state.cellCapacityAh[best] ?? Number.POSITIVE_INFINITY))) best = i;
  });
  return best;
}

/** Keeps at most WINDOWS_KEPT windows: every other one of the older half goes (the trend keeps its span). */
function thin(windows: CapacityWindow[]): void {
  if (windows.length <= WINDOWS_KEPT) return;
  const half = Math.floor(windows.length / 2);
  const older = windows.slice(0, half).filter((_, i) => i % 2 === 0);
  windows.splice(0, half, ...older);
}

export interface SohEstimate {
  pct: number | null;
  reason?: string;
  /** ± percentage points, about 95 %. */
  uncertaintyPct: number | null;
  confidence: "high" | "medium" | "low" | null;
  windows: number;
  capacityAh: number | null;
  cell: number | null;
}

/** The estimate now: the windows of the recent days, weighted by their uncertainty. */
export function estimateSoh(state: SohState, ratedAh: number, settings: HealthSettings, curve: OcvCurve | null, chemistry: string | null): SohEstimate {
  const none = (reason: string, windows = 0): SohEstimate => ({
    pct: null,
    reason,
    uncertaintyPct: null,
    confidence: null,
    windows,
    capacityAh: null,
    cell: null,
  });
  if (curve === null) return none(`not enough data: no OCV curve for ${chemistry ?? "this chemistry"} (set health.ocvCurve for the product in the rule file)`);
  if (!(ratedAh > 0)) return none("not enough data: the pack's rated capacity is not known");
  const newest = state.windows[state.windows.length - 1];
  const recent = newest ? state.windows.filter((w) => w.ts >= newest.ts - settings.recentDays * 86_400_000) : [];
  if (recent.length < settings.minWindows) {
    return none(
      `not enough data: ${recent.length} qualifying window${recent.length === 1 ? "" : "s"} in the last ${settings.recentDays} days (${settings.minWindows} needed; ` +
        `a window is two rests of at least ${Math.round(settings.minRestS / 60)} min, ${settings.minSwingPct} % of SOC apart, each on a part of the OCV curve ` +
        `rising at least ${settings.minOcvSlopeMvPerPct} mV per %${chemistry === "LFP" ? ": for LFP near full or near empty" : ""})`,
      recent.length,
    );
  }
  let sumW = 0;
  let sum = 0;
  for (const w of recent) {
    const weight = 1 / Math.max(1e-9, w.sigmaAh) ** 2;
    sumW += weight;
    sum += weight * w.capacityAh;
  }
  const mean = sum / sumW;
  // The windows' own errors, or their scatter if that is larger (errors the model does not know).
  const scatter = Math.sqrt(
    recent.reduce((acc, w) => acc + (w.capacityAh - mean) ** 2 / Math.max(1e-9, w.sigmaAh) ** 2, 0) / sumW / Math.max(1, recent.length - 1),
  );
  const sigma = Math.max(Math.sqrt(1 / sumW), scatter);
  const uncertaintyPct = Math.max(settings.uncertaintyFloorPct, ((2 * sigma) / ratedAh) * 100);
  return {
    pct: (mean / ratedAh) * 100,
    uncertaintyPct,
    confidence: uncertaintyPct <= 2 ? "high" : uncertaintyPct <= 4 ? "medium" : "low",
    windows: recent.length,
    capacityAh: mean,
    cell: weakestCell(state),
  };
}

const YEAR_MS = 365.25 * 86_400_000;

export interface EolForecast {
  at: number | null;
  earliest: number | null;
  latest: number | null;
  trendPctPerYear: number | null;
  basis: string;
}

/**
 * When SOH would cross `eolPct`: a weighted straight line through every window's SOH against
 * time, and the same with its slope two standard errors steeper and flatter. A straight line over
 * calendar ageing (which slows with √time) errs early: the forecast is on the safe side.
 */
export function forecastEol(state: SohState, ratedAh: number, eolPct: number, settings: HealthSettings): EolForecast {
  const points = state.windows.map((w) => ({ t: w.ts / YEAR_MS, y: (w.capacityAh / ratedAh) * 100, w: 1 / Math.max(1e-9, (w.sigmaAh / ratedAh) * 100) ** 2 }));
  const first = state.windows[0];
  const last = state.windows[state.windows.length - 1];
  const spanDays = first && last ? (last.ts - first.ts) / 86_400_000 : 0;
  const none = (basis: string): EolForecast => ({ at: null, earliest: null, latest: null, trendPctPerYear: null, basis });
  if (!(ratedAh > 0) || points.length < 3 || spanDays < settings.forecastMinSpanDays) {
    return none(
      `no forecast yet: it needs windows spread over at least ${settings.forecastMinSpanDays} days (${Math.floor(spanDays)} so far, ${points.length} windows)`,
    );
  }
  let sw = 0;
  let st = 0;
  let sy = 0;
  for (const p of points) {
    sw += p.w;
    st += p.w * p.t;
    sy += p.w * p.y;
  }
  const tMean = st / sw;
  const yMean = sy / sw;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += p.w * (p.t - tMean) ** 2;
    sxy += p.w * (p.t - tMean) * (p.y - yMean);
  }
  const slope = sxy / sxx;
  const residual = points.reduce((acc, p) => acc + p.w * (p.y - yMean - slope * (p.t - tMean)) ** 2, 0) / Math.max(1, points.length - 2);
  const slopeSigma = Math.sqrt(Math.max(1, residual) / sxx);
  const cross = (b: number): number | null => (b < 0 ? Math.round((tMean + (eolPct - yMean) / b) * YEAR_MS) : null);
  const basis = `straight line through ${points.length} windows over ${Math.round(spanDays)} days, ±2 standard errors of its slope`;
  if (slope >= 0) return { ...none(`no fade seen yet (${basis})`), trendPctPerYear: slope };
  // Past the line's centre the steeper slope crosses later: the bounds are ordered, not named by slope.
  const bounds = [cross(slope - 2 * slopeSigma), cross(slope + 2 * slopeSigma)];
  const known = bounds.filter((b): b is number => b !== null);
  const earliest = known.length > 0 ? Math.min(...known) : null;
  const latest = bounds.includes(null) ? null : Math.max(...known);
  return { at: cross(slope), earliest, latest, trendPctPerYear: slope, basis };
}
