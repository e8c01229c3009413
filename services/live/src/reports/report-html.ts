import type { PackHealth } from "@bms/shared";
import type { CaseLine, CostSum, CustomerReport, SiteReport } from "./monthly-report";

/**
 * The report as one HTML page (server-side, no script): every value escaped, so a hostile pack,
 * case or part text cannot inject markup.
 */

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ESCAPES[ch] as string);
}

export const date = (ms: number | null) => (ms === null ? "–" : new Date(ms).toISOString().slice(0, 10));
export const num = (value: number | null | undefined, digits = 1) => (value === null || value === undefined ? "–" : value.toFixed(digits));

export function costText(costs: readonly CostSum[]): string {
  if (costs.length === 0) return "none";
  return costs.map((c) => `${c.currency} ${c.company.toFixed(2)} company, ${c.customer.toFixed(2)} customer`).join("; ");
}

/** One pack's line of figures, as both the HTML and the PDF show it. */
export function packFigures(p: PackHealth): [string, string][] {
  const soh =
    p.sohEstimatePct === null
      ? `no estimate (${p.sohReason ?? "not enough data"})`
      : `${num(p.sohEstimatePct)} ± ${num(p.sohUncertaintyPct)} % (${p.sohWindows} windows)`;
  const month = p.months[p.months.length - 1];
  return [
    ["SOH (field estimate)", soh],
    ["Warranted minimum now", p.warrantedCurve.warrantedMinPct === null ? "unknown (no warranty dates)" : `${num(p.warrantedCurve.warrantedMinPct)} %`],
    [
      "End-of-life forecast",
      p.eolForecast.at === null ? p.eolForecast.basis : `${date(p.eolForecast.at)} (${date(p.eolForecast.earliest)} – ${date(p.eolForecast.latest)})`,
    ],
    ["Cells", `${p.cells.verdict}: ${p.cells.reason}`],
    ["Equivalent full cycles", `${num(p.equivalentFullCycles)} (${num(p.throughputAh, 0)} Ah through, ${num(p.dischargedKWh)} kWh discharged)`],
    [
      "This month",
      month
        ? `${num(month.equivalentFullCycles)} cycles, ${num(month.dischargedKWh)} kWh discharged, max ${num(month.maxTemperatureC)} °C, min SOC ${num(month.minSocPct)} %`
        : "no samples",
    ],
    ["Outside the operating window", `${num(p.operatingWindow.outsideSharePct)} % of ${num(p.operatingHours, 0)} h`],
    ["Hot and full (calendar ageing)", `${num(p.highSocHighTemperatureHours)} h`],
    [
      "Internal resistance",
      p.resistance.milliOhm === null ? "not measured yet" : `${num(p.resistance.milliOhm, 2)} mΩ (${num(p.resistance.growthPct)} % since first measured)`,
    ],
  ];
}

function caseRows(cases: readonly CaseLine[]): string {
  if (cases.length === 0) return "<p class=muted>None.</p>";
  const rows = cases
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.packId)}</td><td>${escapeHtml(c.title)}</td><td>${escapeHtml(c.severity)}</td><td>${escapeHtml(c.status)}</td>` +
        `<td>${date(c.openedAt)}</td><td>${date(c.closedAt)}</td><td>${escapeHtml(c.warranty ?? "–")}</td><td>${escapeHtml(costText(c.costs))}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>Pack</th><th>Case</th><th>Severity</th><th>Status</th><th>Opened</th><th>Closed</th><th>Warranty</th><th>Costs this month</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function siteSection(site: SiteReport): string {
  const packs = site.packs
    .map((p) => {
      const rows = packFigures(p)
        .map(([k, v]) => `<tr><th scope=row>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
        .join("");
      return `<section class=pack><h4>Pack ${escapeHtml(p.packId)}</h4><p class=muted>${escapeHtml(p.pack.model ?? "")} ${escapeHtml(p.pack.serial ?? "")} · ${escapeHtml(p.pack.chemistry ?? "")} · ${num(p.pack.ratedCapacityAh, 0)} Ah</p><table>${rows}</table></section>`;
    })
    .join("");
  const parts =
    site.parts.length === 0
      ? "<p class=muted>None.</p>"
      : `<ul>${site.parts.map((p) => `<li>${escapeHtml(p.quantity)} × ${escapeHtml(p.part)} ${escapeHtml(p.description)} (pack ${escapeHtml(p.packId)}, ${date(p.addedAt)})</li>`).join("")}</ul>`;
  const watch =
    site.watch.length === 0 ? "<p class=muted>Nothing in particular.</p>" : `<ul>${site.watch.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`;
  return `<section class=site><h2>Site ${escapeHtml(site.siteId)}</h2>
<p>${site.summary.packs} packs · lowest SOH ${site.summary.lowestSohPct === null ? "not estimated yet" : `${num(site.summary.lowestSohPct)} % (${escapeHtml(site.summary.lowestSohPack)})`} · ${num(site.summary.dischargedKWh)} kWh discharged in all</p>
<h3>Packs</h3>${packs || "<p class=muted>No pack has reported.</p>"}
<h3>Cases opened this month</h3>${caseRows(site.opened)}
<h3>Cases closed this month</h3>${caseRows(site.closed)}
<h3>Spare parts used</h3>${parts}
<h3>Costs this month</h3><p>${escapeHtml(costText(site.costs))}</p>
<h3>To watch next month</h3>${watch}</section>`;
}

export function reportTitle(report: CustomerReport): string {
  return `Monthly follow-up ${report.month}: ${report.customer.name}`;
}

/** The whole document for one or more customers. */
export function renderReportHtml(reports: readonly CustomerReport[]): string {
  const body = reports
    .map(
      (r) =>
        `<article><h1>${escapeHtml(reportTitle(r))}</h1><p class=muted>Made ${escapeHtml(new Date(r.generatedAt).toISOString())} · costs this month: ${escapeHtml(costText(r.costs))}</p>${r.sites.map(siteSection).join("")}</article>`,
    )
    .join("");
  const title = reports.length === 1 ? reportTitle(reports[0] as CustomerReport) : `Monthly follow-up ${reports[0]?.month ?? ""}`;
  return `<!doctype html><html lang=en><head><meta charset=utf-8><title>${escapeHtml(title)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
.muted{color:#666}article{page-break-after:always}section.pack{margin-left:1em}
</style></head><body>${body || "<p>No customer's sites to report.</p>"}</body></html>`;
}
