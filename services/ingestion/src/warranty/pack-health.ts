import { type Chemistry, OCV_CURVES, type OcvCurve, type PackMeta } from "@bms/shared";
import type { HealthSettings, WarrantyTerms } from "@bms/shared/config/rules-config";
import type { PackObservation } from "../rules/pack-observation";
import { type HealthState, loadHealthState } from "./health-state";
import { addToResistance } from "./resistance-trend";
import { addToSoh } from "./soh-estimator";
import { countRates, fillRates, type HealthFill, ratesOf, recordExtremes, type SampleRates, secondsSince } from "./stress-tally";

/** What the tallies need besides the sample: the pack's resolved warranty terms and health settings, and its meta. */
export interface HealthContext {
  terms: WarrantyTerms;
  settings: HealthSettings;
  meta: PackMeta | null;
  chemistry: Chemistry;
}

/** The OCV table a pack's SOC is read with: the product's own, else the chemistry's shipped one. */
export function ocvCurveFor(settings: HealthSettings, chemistry: string | null): OcvCurve | null {
  return settings.ocvCurve ?? (chemistry === null ? null : (OCV_CURVES[chemistry as Chemistry] ?? null));
}

/**
 * One pack's health, kept from every sample: the stress tally in both lanes (stress-tally.ts), and
 * in the live lane the SOH estimator (soh-estimator.ts), the resistance trend and the cell balance.
 * Saved in the pack's state row as `health` (health-state.ts).
 */
export class PackHealth {
  readonly state: HealthState;

  /** `saved`: the row's health part as loaded; one that does not fit is reported and starts afresh. */
  constructor(saved: unknown, invalid: (problem: string) => void) {
    const loaded = loadHealthState(saved);
    if (loaded.problem !== null) invalid(loaded.problem);
    this.state = loaded.state;
  }

  /** A live sample (newer than every one before): counted, and what it counted returned (kept with a gap it stepped over). */
  add(obs: PackObservation, ctx: HealthContext): SampleRates {
    const s = this.state;
    this.identify(obs, ctx);
    const seconds = secondsSince(obs.ts, s.lastTs, ctx.settings);
    const rates = ratesOf(obs, ctx.terms, ctx.settings, seconds);
    countRates(s, rates, seconds);
    recordExtremes(s, obs);
    s.since ??= obs.ts;
    s.lastTs = obs.ts;
    s.bmsSohPct = obs.sample.soh ?? null;
    addToSoh(s.soh, s.balance, obs, { settings: ctx.settings, ratedAh: obs.ratedAh, curve: ocvCurveFor(ctx.settings, s.pack.chemistry) });
    addToResistance(s.resistance, obs, ctx.settings, obs.ratedAh);
    return rates;
  }

  /** A back-filled sample of a gap after `fromTs`: counted in its place (the SOH windows need unbroken live samples: not here). */
  fill(obs: PackObservation, ctx: HealthContext, fromTs: number, fill: HealthFill): void {
    const s = this.state;
    if (!fillRates(s, ratesOf(obs, ctx.terms, ctx.settings), fromTs, fill, ctx.settings)) return;
    recordExtremes(s, obs);
    s.since = s.since === null ? obs.ts : Math.min(s.since, obs.ts);
  }

  private identify(obs: PackObservation, ctx: HealthContext): void {
    const p = this.state.pack;
    const meta = ctx.meta;
    p.chemistry = ctx.chemistry;
    p.ratedAh = obs.ratedAh;
    p.cellCount = obs.sample.cellVoltages.length;
    if (meta) {
      p.model = meta.model;
      p.serial = meta.serial;
      p.warrantyStart = meta.warrantyStart ?? null;
      p.warrantyEnd = meta.warrantyEnd ?? null;
    }
  }
}
