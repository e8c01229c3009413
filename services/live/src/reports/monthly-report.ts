import { type RuleBook, readAllPackHealth, siteHealthReport } from "@bms/ingestion";
import type { Customer, PackHealth, SiteHealth, SupportCase } from "@bms/shared";
import type { CaseStore, RuleLedger } from "@bms/storage";

/**
 * The month's follow-up report for one customer: per site, its packs with health and stress, the
 * cases opened and closed in the month with their costs and who bears them, the spare parts used,
 * and what to watch next month. Health is as of the report's making (the tallies are lifetime
 * figures, with the month's own share in `months`); cases and costs are the month's (UTC).
 */

export interface CaseLine {
  id: string;
  packId: string;
  title: string;
  severity: string;
  status: string;
  openedAt: number;
  closedAt: number | null;
  /** The warranty suggestion at the case's last firing. */
  warranty: string | null;
  /** Cost lines added in the month, summed per currency and bearer. */
  costs: CostSum[];
}

export interface CostSum {
  currency: string;
  company: number;
  customer: number;
}

export interface PartLine {
  caseId: string;
  packId: string;
  part: string;
  description: string;
  quantity: number;
  addedAt: number;
}

export interface SiteReport {
  siteId: string;
  summary: SiteHealth;
  packs: PackHealth[];
  opened: CaseLine[];
  closed: CaseLine[];
  /** Cases still open at the report's making. */
  stillOpen: number;
  parts: PartLine[];
  costs: CostSum[];
  watch: string[];
}

export interface CustomerReport {
  customer: { id: string; name: string };
  month: string;
  generatedAt: number;
  sites: SiteReport[];
  costs: CostSum[];
}

/** Cases a site's report looks through (newest first): enough for a month of a busy site. */
const CASES_PER_SITE = 10_000;

/** `YYYY-MM` → [start, end) in ms, UTC. */
export function monthRange(month: string): [number, number] {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
}

/** The month before the one `now` is in, `YYYY-MM` (UTC). */
export function previousMonth(now: number): string {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

function addCost(sums: CostSum[], currency: string, bearer: "company" | "customer", amount: number): void {
  let sum = sums.find((s) => s.currency === currency);
  if (!sum) {
    sum = { currency, company: 0, customer: 0 };
    sums.push(sum);
  }
  sum[bearer] = Math.round((sum[bearer] + amount) * 100) / 100;
}

function caseLine(c: SupportCase, from: number, to: number): CaseLine {
  const costs: CostSum[] = [];
  for (const line of c.costLines) if (line.addedAt >= from && line.addedAt < to) addCost(costs, line.currency, line.bearer, line.amount);
  return {
    id: c.id,
    packId: c.packId,
    title: c.title,
    severity: c.severity,
    status: c.status,
    openedAt: c.openedAt,
    closedAt: c.closedAt,
    warranty: c.warranty?.suggestion ?? null,
    costs,
  };
}

/** What an engineer or the customer should keep an eye on next month, from one pack's health. */
export function watchList(p: PackHealth, month: string): string[] {
  const out: string[] = [];
  const name = p.packId;
  const c = p.warrantedCurve;
  if (p.sohEstimatePct !== null && c.marginPct !== null && c.marginPct < 5) {
    out.push(`${name}: SOH ${p.sohEstimatePct} % is ${c.marginPct < 0 ? "below" : `only ${c.marginPct} points above`} the warranted ${c.warrantedMinPct} %.`);
  }
  const eol = p.eolForecast.at;
  if (eol !== null && p.asOf !== null && eol - p.asOf < 365 * 86_400_000) {
    out.push(`${name}: the SOH trend reaches the warranted end of life (${p.eolForecast.eolSohPct} %) by ${new Date(eol).toISOString().slice(0, 10)}.`);
  }
  if (p.cells.verdict === "weak-cell" || p.cells.verdict === "imbalanced") out.push(`${name}: ${p.cells.verdict}: ${p.cells.reason}.`);
  const w = p.operatingWindow;
  if (w.outsideSharePct > w.limits.maxOutsideSharePct / 2)
    out.push(`${name}: ${w.outsideSharePct} % of its hours outside the operating window (the terms allow ${w.limits.maxOutsideSharePct} %).`);
  const used = Math.max(p.throughputWarranty.usedThroughputPct ?? 0, p.throughputWarranty.usedCyclesPct ?? 0);
  if (used >= 80) out.push(`${name}: ${used} % of the warranted throughput used.`);
  if (p.resistance.growthPct !== null && p.resistance.growthPct >= 30)
    out.push(`${name}: internal resistance up ${p.resistance.growthPct} % since it was first measured.`);
  if (!p.months.some((m) => m.month === month)) out.push(`${name}: no samples in ${month}: check the site's link.`);
  return out;
}

export interface ReportSources {
  caseStore: CaseStore;
  packStates: Pick<RuleLedger, "loadStates">;
  book: RuleBook;
}

/** Builds one customer's report for `month`, limited to `sites` (what the asking token may see). */
export async function buildCustomerReport(
  sources: ReportSources,
  customer: Pick<Customer, "id" | "name">,
  sites: readonly string[],
  month: string,
  now: number,
): Promise<CustomerReport> {
  const [from, to] = monthRange(month);
  const wanted = new Set(sites);
  const health = await readAllPackHealth(sources.packStates, sources.book, (siteId) => wanted.has(siteId), now);
  const reports: SiteReport[] = [];
  const total: CostSum[] = [];
  for (const siteId of [...sites].sort()) {
    const packs = health.filter((p) => p.siteId === siteId);
    const cases = await sources.caseStore.list({ siteId, limit: CASES_PER_SITE });
    const opened = cases.filter((c) => c.openedAt >= from && c.openedAt < to).map((c) => caseLine(c, from, to));
    const closed = cases.filter((c) => c.closedAt !== null && c.closedAt >= from && c.closedAt < to).map((c) => caseLine(c, from, to));
    const costs: CostSum[] = [];
    const parts: PartLine[] = [];
    for (const c of cases) {
      for (const line of c.costLines) {
        if (line.addedAt < from || line.addedAt >= to) continue;
        addCost(costs, line.currency, line.bearer, line.amount);
        addCost(total, line.currency, line.bearer, line.amount);
      }
      for (const part of c.spareParts) {
        if (part.addedAt >= from && part.addedAt < to) {
          parts.push({ caseId: c.id, packId: c.packId, part: part.part, description: part.description, quantity: part.quantity, addedAt: part.addedAt });
        }
      }
    }
    const stillOpen = cases.filter((c) => c.status !== "closed").length;
    const watch = packs.flatMap((p) => watchList(p, month));
    if (stillOpen > 0) watch.push(`${stillOpen} case${stillOpen === 1 ? "" : "s"} still open on the site.`);
    reports.push({ siteId, summary: siteHealthReport(siteId, packs), packs, opened, closed, stillOpen, parts, costs, watch });
  }
  return { customer: { id: customer.id, name: customer.name }, month, generatedAt: now, sites: reports, costs: total };
}
