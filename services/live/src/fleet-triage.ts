import {
  FLEET_OFFLINE_AFTER_MS,
  type FleetAnswer,
  type FleetPack,
  type FleetSite,
  type FleetState,
  SEVERITY_RANK,
  type Severity,
  SITE_PACK_ID,
  type SiteStatus,
  worseSeverity,
} from "@bms/shared";
import { type CaseSummary, isWorked } from "./case-index";
import type { PackEntry } from "./pack-state";

export interface FleetQuery {
  /** Case-insensitive, in site ID, pack ID, serial or model. */
  q?: string | undefined;
  state?: FleetState | undefined;
  offset: number;
  limit: number;
  siteLimit: number;
}

export interface FleetInput {
  packs: Iterable<Readonly<PackEntry>>;
  /** Agent status per site, for every site that has one (sites without packs yet included). */
  statuses: Iterable<readonly [string, SiteStatus]>;
  /** The cases being worked (CaseIndex), of the sites the token sees. */
  cases: readonly CaseSummary[];
  now: number;
}

/** Most urgent first. */
const STATE_RANK: Readonly<Record<FleetState, number>> = { critical: 0, warning: 1, offline: 2, healthy: 3 };
const emptyCounts = (): Record<FleetState, number> => ({ critical: 0, warning: 0, offline: 0, healthy: 0 });

function casesState(worst: Severity | null): FleetState | null {
  if (worst === null) return null;
  return SEVERITY_RANK[worst] >= SEVERITY_RANK.major ? "critical" : "warning";
}

function extremes(values: readonly number[]): { min: number; max: number } | null {
  if (values.length === 0) return null;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

interface CaseTally {
  worst: Severity | null;
  count: number;
}

function tally(cases: readonly CaseSummary[]): Map<string, CaseTally> {
  const out = new Map<string, CaseTally>();
  for (const c of cases) {
    const key = `${c.siteId}/${c.packId}`;
    const t = out.get(key) ?? { worst: null, count: 0 };
    t.worst = t.worst === null ? c.severity : worseSeverity(t.worst, c.severity);
    t.count++;
    out.set(key, t);
  }
  return out;
}

function packRow(
  siteId: string,
  packId: string,
  entry: Readonly<PackEntry> | null,
  cases: CaseTally | undefined,
  siteOffline: boolean,
  now: number,
): FleetPack {
  const sample = entry?.latest ?? null;
  const receivedAt = entry?.receivedAt ?? null;
  const offline = siteOffline || receivedAt === null || now - receivedAt > FLEET_OFFLINE_AFTER_MS;
  const alarms = sample?.bmsAlarms ?? [];
  const worst = cases?.worst ?? null;
  const state = casesState(worst) ?? (alarms.length > 0 ? "warning" : offline ? "offline" : "healthy");
  const cells = extremes(sample?.cellVoltages ?? []);
  const temps = extremes(sample?.cellTemperatures ?? []);
  return {
    siteId,
    packId,
    state,
    worstSeverity: worst,
    activeCases: cases?.count ?? 0,
    offline,
    serial: entry?.meta?.serial ?? null,
    model: entry?.meta?.model ?? null,
    chemistry: entry?.meta?.chemistry ?? null,
    soc: sample?.soc ?? null,
    soh: sample?.soh ?? null,
    packVoltage: sample?.packVoltage ?? null,
    current: sample?.current ?? null,
    cellVoltageMin: cells?.min ?? null,
    cellVoltageMax: cells?.max ?? null,
    temperatureMax: temps?.max ?? null,
    bmsAlarms: [...alarms],
    receivedAt,
  };
}

function byUrgency(a: FleetPack, b: FleetPack): number {
  return (
    STATE_RANK[a.state] - STATE_RANK[b.state] ||
    (b.worstSeverity ? SEVERITY_RANK[b.worstSeverity] : 0) - (a.worstSeverity ? SEVERITY_RANK[a.worstSeverity] : 0) ||
    b.activeCases - a.activeCases ||
    b.bmsAlarms.length - a.bmsAlarms.length ||
    (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : a.packId < b.packId ? -1 : a.packId > b.packId ? 1 : 0)
  );
}

/**
 * Fleet triage: every pack the token sees with its state (FleetState), counted, sorted by urgency
 * (state, then worst case severity, cases, BMS codes, then site and pack), filtered and paged; and
 * the sites, with their agents' link health, most urgent first.
 */
export function triage(input: FleetInput, query: FleetQuery): FleetAnswer {
  const statuses = new Map(input.statuses);
  const worked = input.cases.filter((c) => isWorked(c.status));
  const cases = tally(worked.filter((c) => c.packId !== SITE_PACK_ID));
  const siteCases = tally(worked.filter((c) => c.packId === SITE_PACK_ID));
  const siteOffline = (siteId: string) => statuses.get(siteId)?.state === "offline";

  const rows: FleetPack[] = [];
  const seen = new Set<string>();
  for (const entry of input.packs) {
    const key = `${entry.siteId}/${entry.packId}`;
    seen.add(key);
    rows.push(packRow(entry.siteId, entry.packId, entry, cases.get(key), siteOffline(entry.siteId), input.now));
  }
  // A pack with a case but no data in memory (the live service restarted since) is still listed.
  for (const c of worked) {
    const key = `${c.siteId}/${c.packId}`;
    if (c.packId === SITE_PACK_ID || seen.has(key)) continue;
    seen.add(key);
    rows.push(packRow(c.siteId, c.packId, null, cases.get(key), siteOffline(c.siteId), input.now));
  }

  const counts = emptyCounts();
  for (const row of rows) counts[row.state]++;
  const needle = query.q?.trim().toLowerCase() ?? "";
  const matchesText = (row: FleetPack) =>
    needle === "" ||
    row.siteId.toLowerCase().includes(needle) ||
    row.packId.toLowerCase().includes(needle) ||
    (row.serial?.toLowerCase().includes(needle) ?? false) ||
    (row.model?.toLowerCase().includes(needle) ?? false);
  const matched = rows.filter((row) => matchesText(row) && (query.state === undefined || row.state === query.state)).sort(byUrgency);

  const sites = new Map<string, FleetSite>();
  const siteOf = (siteId: string): FleetSite => {
    let site = sites.get(siteId);
    if (!site) {
      const status = statuses.get(siteId);
      const failing = (status?.agent?.devices ?? []).filter((d) => d.state === "failing");
      site = {
        siteId,
        state: "healthy",
        packs: 0,
        counts: emptyCounts(),
        agent: {
          state: status?.state ?? "unknown",
          lastContact: status?.ts ?? null,
          queueDepth: status?.agent?.queueDepth ?? null,
          oldestQueuedTs: status?.agent?.oldestQueuedTs ?? null,
          failingDevices: failing.map((d) => ({ packId: d.packId, lastError: d.lastError ?? null })),
        },
      };
      const own = casesState(siteCases.get(`${siteId}/${SITE_PACK_ID}`)?.worst ?? null);
      site.state = own ?? (status?.state === "offline" ? "offline" : "healthy");
      sites.set(siteId, site);
    }
    return site;
  };
  for (const [siteId] of statuses) siteOf(siteId);
  for (const c of worked) siteOf(c.siteId);
  for (const row of rows) {
    const site = siteOf(row.siteId);
    site.packs++;
    site.counts[row.state]++;
    if (STATE_RANK[row.state] < STATE_RANK[site.state]) site.state = row.state;
    if (row.receivedAt !== null && (site.agent.lastContact === null || row.receivedAt > site.agent.lastContact)) site.agent.lastContact = row.receivedAt;
  }
  const sitesWithMatches = new Set(needle === "" ? [] : rows.filter(matchesText).map((r) => r.siteId));
  const siteMatches = (site: FleetSite) => needle === "" || site.siteId.toLowerCase().includes(needle) || sitesWithMatches.has(site.siteId);
  const sortedSites = [...sites.values()]
    .filter(siteMatches)
    .sort(
      (a, b) =>
        STATE_RANK[a.state] - STATE_RANK[b.state] ||
        b.counts.critical - a.counts.critical ||
        b.counts.warning - a.counts.warning ||
        (b.agent.failingDevices.length > 0 ? 1 : 0) - (a.agent.failingDevices.length > 0 ? 1 : 0) ||
        (a.siteId < b.siteId ? -1 : 1),
    );
  return {
    counts,
    total: rows.length,
    matched: matched.length,
    offset: query.offset,
    packs: matched.slice(query.offset, query.offset + query.limit),
    sites: sortedSites.slice(0, query.siteLimit),
    siteCount: sortedSites.length,
    generatedAt: input.now,
  };
}
