// The pack page's health card: GET /api/packs/:siteId/:packId/health as label/value lines
// (docs/warranty-analytics.md defines every figure). Plain text only: the page writes it with
// textContent.

import { fixed } from "./format.js";

function day(ms) {
  return typeof ms === "number" ? new Date(ms).toISOString().slice(0, 10) : "?";
}

/** The `count` largest entries of a band → hours record, "band: 12.3 h", largest first. */
function topHours(record, count) {
  return Object.entries(record || {})
    .filter(([, hours]) => hours > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([band, hours]) => `${band}: ${fixed(hours, 1)} h`)
    .join(" · ");
}

function soh(h) {
  const bms = h.bmsSohPct === null ? "" : ` · the BMS says ${fixed(h.bmsSohPct, 1)} %`;
  if (h.sohEstimatePct === null) return `no estimate: ${h.sohReason || "not enough data"}${bms}`;
  const cell = h.weakestCell === null ? "" : `, weakest cell #${h.weakestCell + 1} at ${fixed(h.capacityAh, 1)} Ah`;
  return `${fixed(h.sohEstimatePct, 1)} ± ${fixed(h.sohUncertaintyPct, 1)} % (${h.sohConfidence} confidence, ${h.sohWindows} of ${h.sohWindowsTotal} windows${cell})${bms}`;
}

function curve(h) {
  const c = h.warrantedCurve;
  const shape = `${fixed(c.eolSohPct, 0)} % after ${fixed(c.warrantedYears, 0)} years`;
  if (c.warrantedMinPct === null) return `${shape}; the pack's age is not known (no warranty start)`;
  const margin = c.marginPct === null ? "" : `; margin ${c.marginPct >= 0 ? "+" : ""}${fixed(c.marginPct, 1)} points`;
  return `at least ${fixed(c.warrantedMinPct, 1)} % at ${fixed(c.ageYears, 1)} years (${shape})${margin}`;
}

function endOfLife(h) {
  const f = h.eolForecast;
  if (f.at === null) return `${fixed(f.eolSohPct, 0)} %: ${f.basis}`;
  return `${fixed(f.eolSohPct, 0)} % around ${day(f.at)} (${day(f.earliest)} to ${day(f.latest)}; ${fixed(f.trendPctPerYear, 1)} points a year)`;
}

function resistance(h) {
  const r = h.resistance;
  if (r.milliOhm === null) return `no estimate yet (${r.steps} current steps)`;
  const growth = r.growthPct === null ? "" : `, ${r.growthPct >= 0 ? "+" : ""}${fixed(r.growthPct, 1)} % since the first steps`;
  return `${fixed(r.milliOhm, 1)} mΩ at 25 °C (${r.steps} current steps${growth})`;
}

function throughput(h) {
  const w = h.throughputWarranty;
  const used = w.usedThroughputPct === null ? "" : ` · ${fixed(w.usedThroughputPct, 1)} % of the warranted ${fixed(w.warrantedThroughputKWh, 0)} kWh`;
  return `${fixed(h.throughputAh, 1)} Ah · ${fixed(h.equivalentFullCycles, 2)} equivalent full cycles · charged ${fixed(h.chargedKWh, 1)} kWh, discharged ${fixed(h.dischargedKWh, 1)} kWh${used}`;
}

function operatingWindow(h) {
  const w = h.operatingWindow;
  const l = w.limits;
  const limits = `${l.minTemperatureC}–${l.maxTemperatureC} °C, SOC ${l.minSocPct}–${l.maxSocPct} %, ${l.maxChargeC} C charge, ${l.maxDischargeC} C discharge`;
  const outside = topHours(w.outsideHours, 6);
  return `${fixed(w.outsideSharePct, 1)} % of ${fixed(h.operatingHours, 1)} h outside ${limits} (allowed ${l.maxOutsideSharePct} %)${outside ? `: ${outside}` : ""}`;
}

function extremes(h) {
  const x = h.extremes;
  const at = (e, unit) => (e ? `${fixed(e.value, 1)} ${unit} on ${day(e.at)}` : "–");
  return `hottest ${at(x.maxTemperatureC, "°C")} · coldest ${at(x.minTemperatureC, "°C")} · deepest discharge ${at(x.minSocPct, "% SOC")}`;
}

/** The panel's lines, [label, text], in the order an engineer reads them. */
export const packHealthLines = (h) => [
  ["State of health", soh(h)],
  ["Warranted curve", curve(h)],
  ["End of life", endOfLife(h)],
  ["Cells", `${h.cells.verdict}: ${h.cells.reason}`],
  ["Resistance", resistance(h)],
  ["Throughput", throughput(h)],
  ["Operating window", operatingWindow(h)],
  ["Extremes", extremes(h)],
  ["High SOC and heat", `${fixed(h.highSocHighTemperatureHours, 1)} h (the calendar-ageing driver)`],
  ["Most hours (SOC × temperature)", topHours(h.stressHours, 5) || "–"],
  ["C-rate", topHours(h.cRateHours, 5) || "–"],
  ["Counted", h.since === null ? "no sample yet" : `${day(h.since)} to ${day(h.asOf)}`],
];
