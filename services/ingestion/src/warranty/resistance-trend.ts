import type { HealthSettings } from "@bms/shared/config/rules-config";
import type { PackObservation } from "../rules/pack-observation";
import { RESISTANCE_BASELINE_STEPS, RESISTANCE_STEPS_KEPT, type ResistanceState } from "./health-state";

/**
 * The pack's internal resistance from current steps: between two samples close together whose
 * current differs by at least health.resistanceStepC, R = ΔV ÷ ΔI, less the drift of the
 * open-circuit voltage over the step (from the samples before it), taken only in the middle of the SOC range (at the knees the OCV moves on its
 * own) and brought to 25 °C. The first steps make the baseline; the steps of the recent days
 * (health.recentDays before the newest, as for the SOH) the value now.
 */
export function addToResistance(state: ResistanceState, obs: PackObservation, settings: HealthSettings, ratedAh: number): void {
  const s = obs.sample;
  // The sum of the cells resolves a step better than the pack voltage's 10 mV, when every cell reads.
  const volts = s.cellVoltages.length > 0 && obs.cells.every((c) => c !== null) ? s.cellVoltages.reduce((a, b) => a + b, 0) : s.packVoltage;
  const prev = state.prev;
  const before = state.before;
  state.before = prev;
  state.prev = { ts: obs.ts, current: s.current, volts };
  if (prev === null || obs.ts - prev.ts > settings.resistanceStepMaxS * 1000 || !(ratedAh > 0)) return;
  const deltaA = s.current - prev.current;
  if (Math.abs(deltaA) < settings.resistanceStepC * ratedAh) return;
  // The open-circuit voltage drifts while charge flows (fast near the knees): the drift per ampere
  // seen before the step, at a steady current, is taken off the step for the charge moved across it.
  let drift = 0;
  const steadyBefore =
    before !== null &&
    prev.ts - before.ts <= settings.resistanceStepMaxS * 1000 &&
    Math.abs(prev.current - before.current) < 0.25 * settings.resistanceStepC * ratedAh &&
    Math.abs(prev.current) > 0.01 * ratedAh;
  if (steadyBefore) {
    const voltsPerAmpSecond = (prev.volts - before.volts) / ((prev.ts - before.ts) / 1000) / prev.current;
    drift = voltsPerAmpSecond * ((prev.current + s.current) / 2) * ((obs.ts - prev.ts) / 1000);
  }
  const [socLow, socHigh] = settings.resistanceSocRangePct;
  if (s.soc < socLow || s.soc > socHigh) return;
  const temps = obs.temps.filter((t): t is number => t !== null);
  if (temps.length === 0) return;
  const t = temps.reduce((a, b) => a + b, 0) / temps.length;
  const [tLow, tHigh] = settings.resistanceTemperatureRangeC;
  if (t < tLow || t > tHigh) return;
  const ohm = (volts - prev.volts - drift) / deltaA;
  if (!(ohm > 0)) return;
  const milliOhm = ohm * 1000 * Math.exp(-settings.resistanceTemperatureCoefficient * (25 - t));
  state.steps++;
  if (state.baselineCount < RESISTANCE_BASELINE_STEPS) {
    state.baselineSum += milliOhm;
    state.baselineCount++;
  }
  state.recent.push({ ts: obs.ts, milliOhm });
  if (state.recent.length > RESISTANCE_STEPS_KEPT) state.recent.shift();
}

/** The mean of the steps of the recent days, mΩ at 25 °C; null before the first step. */
export function recentResistance(state: ResistanceState, settings: HealthSettings): number | null {
  const newest = state.recent[state.recent.length - 1];
  if (!newest) return null;
  const recent = state.recent.filter((s) => s.ts >= newest.ts - settings.recentDays * 86_400_000);
  return recent.reduce((acc, s) => acc + s.milliOhm, 0) / recent.length;
}
