import { SITE_PACK_ID } from "@bms/shared";
import type { PackStateRow, RuleStateRow } from "@bms/storage";
import { newUsageHistoryState, UsageHistoryState } from "../warranty/usage-history";
import { LanesState, newLanesState } from "./pack-lanes";
import type { RuleBook } from "./rule-book";
import type { PackState, SiteState, SlotState } from "./rule-state";

/**
 * The one-time conversion of rule state as the ingestion saved it before pack states: one row per
 * (site, pack, rule) with the lanes, the usage history and the backfill lane's rules under made-up
 * rule IDs (`_lanes`, `_usage`, `<rule>@backfill`), kinds' states with older field names. What
 * does not convert (a rule no longer in the book, a shape that fits nothing) is left out: those
 * rules start afresh, which is what a bad row does anyway.
 */

const LANES = "_lanes";
const USAGE = "_usage";
const BACKFILL_SUFFIX = "@backfill";

interface OldSlot {
  active: SlotState["active"];
  since?: number;
  lastFiredAt?: number;
  attachedTo?: string[];
  s: Record<string, unknown>;
}

function isOldSlot(state: unknown): state is OldSlot {
  return typeof state === "object" && state !== null && "s" in state && typeof (state as { s: unknown }).s === "object" && "active" in state;
}

/** The kind's state in today's shape (fields the kinds renamed or added since). */
function kindState(kind: string, old: OldSlot): unknown {
  const s = old.s;
  const active = old.active !== null;
  switch (kind) {
    case "cell-drift":
      return { va: s.va === true, t: { ...(typeof s.tp === "number" ? { p: s.tp } : {}), n: typeof s.tn === "number" ? s.tn : 0 }, ta: s.ta === true };
    case "no-data":
      return { lastTs: typeof s.lastTs === "number" ? s.lastTs : null, interval: typeof s.interval === "number" ? s.interval : 0, a: active };
    case "site-offline":
    case "link-errors":
    case "rate-of-change":
      return { a: active };
    case "repeating":
      return { armed: s.armed ?? true, starts: s.starts ?? [], a: s.a === true };
    case "bms-alarm":
      return { onset: s.onset ?? {}, handled: s.handled ?? [] };
    case "sensor-fault":
      return { ...s, n: typeof s.n === "number" ? s.n : 0 };
    default:
      return s;
  }
}

function slotOf(kind: SlotState["kind"], old: OldSlot): SlotState {
  return {
    kind,
    active: old.active,
    ...(old.since === undefined ? {} : { since: old.since }),
    ...(old.lastFiredAt === undefined ? {} : { lastFiredAt: old.lastFiredAt }),
    ...(old.attachedTo === undefined ? {} : { attachedTo: old.attachedTo }),
    s: kindState(kind, old),
  };
}

/** Old rows → one state row per pack and per site. */
export function convertLegacyRuleStates(rows: readonly RuleStateRow[], book: RuleBook): PackStateRow[] {
  const packs = new Map<string, PackState>();
  const sites = new Map<string, SiteState>();
  const packOf = (siteId: string, packId: string): PackState => {
    const key = `${siteId}/${packId}`;
    let pack = packs.get(key);
    if (!pack) {
      pack = { v: 1, lanes: newLanesState(), usage: newUsageHistoryState(), live: {} };
      packs.set(key, pack);
    }
    return pack;
  };
  for (const row of rows) {
    if (!isOldSlot(row.state)) continue;
    if (row.packId === SITE_PACK_ID) {
      const rule = book.resolve(row.siteId, SITE_PACK_ID).byId.get(row.ruleId);
      if (!rule) continue;
      const site = sites.get(row.siteId) ?? { v: 1, lastArrival: null, rules: {} };
      const lastArrival = row.state.s.lastArrival;
      if (typeof lastArrival === "number") site.lastArrival = Math.max(site.lastArrival ?? 0, lastArrival);
      site.rules[row.ruleId] = slotOf(rule.kind, row.state);
      sites.set(row.siteId, site);
      continue;
    }
    const pack = packOf(row.siteId, row.packId);
    if (row.ruleId === LANES) {
      const lanes = LanesState.safeParse(row.state.s);
      if (lanes.success) pack.lanes = lanes.data;
      continue;
    }
    if (row.ruleId === USAGE) {
      const usage = UsageHistoryState.safeParse(row.state.s);
      if (usage.success) pack.usage = usage.data;
      continue;
    }
    const backfill = row.ruleId.endsWith(BACKFILL_SUFFIX);
    const ruleId = backfill ? row.ruleId.slice(0, -BACKFILL_SUFFIX.length) : row.ruleId;
    const rule = book.resolve(row.siteId, row.packId).byId.get(ruleId);
    if (!rule) continue;
    if (backfill) {
      pack.backfill ??= {};
      pack.backfill[ruleId] = slotOf(rule.kind, row.state);
    } else {
      pack.live[ruleId] = slotOf(rule.kind, row.state);
    }
  }
  return [
    ...[...packs].map(([key, state]) => {
      const [siteId = "", packId = ""] = key.split("/");
      return { siteId, packId, state };
    }),
    ...[...sites].map(([siteId, state]) => ({ siteId, packId: SITE_PACK_ID, state })),
  ];
}
