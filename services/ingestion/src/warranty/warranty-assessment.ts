import type { PackMeta, WarrantyAssessment } from "@bms/shared";
import type { HealthSettings, WarrantyTerms } from "@bms/shared/config/rules-config";
import { packHealthReport } from "./health-report";
import type { HealthState } from "./health-state";
import { UsageHistory, type UsageHistoryState } from "./usage-history";

export interface AssessmentInputs {
  siteId: string;
  packId: string;
  usage: UsageHistoryState;
  /** Null for a pack without a health part (a site's own rules). */
  health: HealthState | null;
  meta: PackMeta | null;
  terms: WarrantyTerms;
  settings: HealthSettings;
  at: number;
}

type Evidence = NonNullable<WarrantyAssessment["evidence"]>[number];

const one = (value: number) => Math.round(value * 10) / 10;

/**
 * The warranty section of a case: coverage and excluded conditions (usage-history.ts), and from the
 * pack's health the stress profile against the product's operating window, the throughput against
 * what the warranty covers, the SOH estimate against the warranted end-of-life curve, and the
 * cells' verdict; each finding is a line of evidence saying which way it points. Chargeable when
 * out of warranty (by date or by throughput used up), when an excluded condition passed its
 * tolerance, or when more of the operating hours than the terms allow were outside the window;
 * free otherwise; review without warranty dates.
 */
export function assessWarranty(p: AssessmentInputs): WarrantyAssessment {
  const base = new UsageHistory(p.usage).assess(p.meta, p.terms, p.at);
  if (p.health === null) return base;
  const h = packHealthReport(p.siteId, p.packId, p.health, p.terms, p.settings, p.at);
  const w = h.operatingWindow;
  const evidence: Evidence[] = [];
  evidence.push({ topic: "coverage", points: base.coverage === "out-of-warranty" ? "chargeable" : "neutral", text: coverageText(base) });
  const excluded = base.exclusions.filter((e) => e.exceedsTolerance);
  for (const e of excluded) evidence.push({ topic: "exclusion", points: "chargeable", text: e.detail });
  if (excluded.length === 0) {
    evidence.push({ topic: "exclusion", points: "free", text: `No excluded condition beyond the ${p.terms.toleranceS} s the terms tolerate.` });
  }
  const enoughHours = h.operatingHours >= p.terms.operatingWindow.minOperatingHours;
  const outsideTooLong = enoughHours && w.outsideSharePct > w.limits.maxOutsideSharePct;
  const outsideText = Object.entries(w.outsideHours)
    .map(([limit, hours]) => `${limit} ${one(hours)} h`)
    .join(", ");
  evidence.push({
    topic: "operating-window",
    points: outsideTooLong ? "chargeable" : enoughHours ? "free" : "neutral",
    text:
      `${one(w.outsideSharePct)} % of ${one(h.operatingHours)} operating hours outside the window ${windowText(p.terms)}` +
      `${outsideText ? ` (${outsideText})` : ""}; the terms allow ${w.limits.maxOutsideSharePct} %` +
      (enoughHours ? "." : ` over at least ${p.terms.operatingWindow.minOperatingHours} h of history (too little yet to judge).`),
  });
  const t = h.throughputWarranty;
  const used = Math.max(t.usedThroughputPct ?? Number.NEGATIVE_INFINITY, t.usedCyclesPct ?? Number.NEGATIVE_INFINITY);
  const usedPct = Number.isFinite(used) ? used : null;
  const usedUp = usedPct !== null && usedPct >= 100;
  evidence.push({
    topic: "throughput",
    points: usedUp ? "chargeable" : "neutral",
    text:
      `${one(h.equivalentFullCycles)} equivalent full cycles, ${one(h.dischargedKWh)} kWh discharged` +
      (usedPct === null ? "; the terms set no throughput limit." : `: ${one(usedPct)} % of what the warranty covers${usedUp ? " (used up)" : ""}.`),
  });
  const c = h.warrantedCurve;
  if (h.sohEstimatePct === null) {
    evidence.push({ topic: "soh", points: "neutral", text: `No field SOH estimate: ${h.sohReason ?? "not enough data"}.` });
  } else {
    const below = c.warrantedMinPct !== null && h.sohEstimatePct + (h.sohUncertaintyPct ?? 0) < c.warrantedMinPct;
    const against =
      c.warrantedMinPct === null ? "the warranty's age is not known" : `the warranty promises ${one(c.warrantedMinPct)} % at ${one(c.ageYears ?? 0)} years`;
    evidence.push({
      topic: "soh",
      points: below ? "free" : "neutral",
      text: `SOH ${one(h.sohEstimatePct)} ± ${one(h.sohUncertaintyPct ?? 0)} % from ${h.sohWindows} windows; ${against}${below ? ": below the warranted curve" : ""}.`,
    });
  }
  if (h.cells.verdict === "weak-cell" || h.cells.verdict === "imbalanced") {
    evidence.push({ topic: "cells", points: h.cells.verdict === "weak-cell" ? "free" : "neutral", text: `${h.cells.verdict}: ${h.cells.reason}.` });
  }
  let suggestion = base.suggestion;
  let reason = base.reason;
  if (base.coverage === "in-warranty") {
    if (usedUp) {
      suggestion = "chargeable";
      reason = `The warranted throughput is used up (${one(usedPct ?? 0)} %).`;
    } else if (excluded.length > 0) {
      suggestion = "chargeable";
    } else if (outsideTooLong) {
      suggestion = "chargeable";
      reason = `In warranty, but ${one(w.outsideSharePct)} % of the operating hours were outside the operating window (the terms allow ${w.limits.maxOutsideSharePct} %).`;
    } else {
      reason = `${base.reason} Usage within the operating window; ${usedPct === null ? "no throughput limit" : `${one(usedPct)} % of the warranted throughput used`}.`;
    }
  }
  return {
    ...base,
    suggestion,
    reason,
    stress: {
      operatingHours: h.operatingHours,
      outsideHours: w.outsideHours,
      outsideSharePct: w.outsideSharePct,
      maxOutsideSharePct: w.limits.maxOutsideSharePct,
      highSocHighTemperatureHours: h.highSocHighTemperatureHours,
      maxTemperatureC: h.extremes.maxTemperatureC?.value ?? null,
      minSocPct: h.extremes.minSocPct?.value ?? null,
      window: windowText(p.terms),
    },
    throughput: {
      equivalentFullCycles: h.equivalentFullCycles,
      throughputAh: h.throughputAh,
      dischargedKWh: h.dischargedKWh,
      warrantedEquivalentCycles: t.warrantedEquivalentCycles,
      warrantedThroughputKWh: t.warrantedThroughputKWh,
      usedPct,
    },
    soh: {
      estimatePct: h.sohEstimatePct,
      uncertaintyPct: h.sohUncertaintyPct,
      ...(h.sohReason === undefined ? {} : { reason: h.sohReason }),
      windows: h.sohWindows,
      ageYears: c.ageYears,
      warrantedMinPct: c.warrantedMinPct,
      eolSohPct: c.eolSohPct,
      warrantedYears: c.warrantedYears,
      forecastEolAt: h.eolForecast.at,
      cellVerdict: h.cells.verdict,
    },
    evidence,
  };
}

function coverageText(a: WarrantyAssessment): string {
  const dates = `warranty ${a.warrantyStart ?? "?"} to ${a.warrantyEnd ?? "?"}`;
  if (a.coverage === "unknown") return "No warranty dates in the pack's meta.";
  return `${a.coverage === "in-warranty" ? "In warranty" : "Out of warranty"} on ${new Date(a.assessedAt).toISOString().slice(0, 10)} (${dates}).`;
}

function windowText(terms: WarrantyTerms): string {
  const w = terms.operatingWindow;
  return `${w.minTemperatureC} to ${w.maxTemperatureC} °C, SOC ${w.minSocPct}-${w.maxSocPct} %, up to ${w.maxChargeC} C charging and ${w.maxDischargeC} C discharging`;
}
