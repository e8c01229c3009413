import type { HealthSettings } from "@bms/shared/config/rules-config";
import type { PackObservation } from "../rules/pack-observation";
import { RESISTANCE_BASELINE_STEPS, type ResistanceState } from "./health-state";

/**
 * The pack's internal resistance from current steps: between two samples close together whose
 * current differs by at least health.resistanceStepC, R = ΔV ÷ ΔI (the open-circuit voltage barely
 * moves in between), taken only in the middle of the SOC range (at the knees the OCV moves on its
 * own) and brought to 25 °C. The first steps make the baseline, a moving average the recent value.
 */
export function addToResistance(state: ResistanceState, obs: PackObservation, settings: HealthSettings, ratedAh: number): void {
  const s = obs.sample;
  // The sum of the cells resolves a step better than the pack voltage's 10 mV, when every cell reads.
  const volts = s.cellVoltages.length > 0 && obs.cells.every((c) => c !== null) ? s.cellVoltages.reduce((a, b) => a + b, 0) : s.packVoltage;
  const prev = state.prev;
  state.prev = { ts: obs.ts, current: s.current, volts };
  if (prev === null || obs.ts - prev.ts > settings.resistanceStepMaxS * 1000 || !(ratedAh > 0)) return;
  const deltaA = s.current - prev.current;
  if (Math.abs(deltaA) < settings.resistanceStepC * ratedAh) return;
  const [socLow, socHigh] = settings.resistanceSocRangePct;
  if (s.soc < socLow || s.soc > socHigh) return;
  const temps = obs.temps.filter((t): t is number => t !== null);
  if (temps.length === 0) return;
  const t = temps.reduce((a, b) => a + b, 0) / temps.length;
  const [tLow, tHigh] = settings.resistanceTemperatureRangeC;
  if (t < tLow || t > tHigh) return;
  const ohm = (volts - prev.volts) / deltaA;
  if (!(ohm > 0)) return;
  const milliOhm = ohm * 1000 * Math.exp(-settings.resistanceTemperatureCoefficient * (25 - t));
  state.steps++;
  if (state.baselineCount < RESISTANCE_BASELINE_STEPS) {
    state.baselineSum += milliOhm;
    state.baselineCount++;
  }
  state.recent = state.recent === null ? milliOhm : state.recent + 0.2 * (milliOhm - state.recent);
}
