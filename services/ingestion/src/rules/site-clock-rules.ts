import { SITE_PACK_ID } from "@bms/shared";
import type { RuleBatch } from "./rule-batch";
import type { RuleBook } from "./rule-book";
import type { RuleHolders } from "./rule-holders";
import type { SiteRules } from "./site-rules";
import type { StepApplier } from "./step-applier";
import { packTarget, siteTarget } from "./step-targets";

/**
 * The rules that run on a clock rather than on one pack's sample: no-data (a pack lagging its
 * site's own clock, the agent's timestamps) and site-offline (a site silent on the ingestion's
 * clock). Their steps go into the engine's current batch.
 */
export class SiteClockRules {
  constructor(
    private readonly book: RuleBook,
    private readonly holders: RuleHolders,
    private readonly applier: StepApplier,
    /** The engine's batch being filled (a new one after every commit). */
    private readonly batch: () => RuleBatch,
  ) {}

  /** Every pack of the site that lags the site's own clock by more than its timeout (at most once a second of site time). */
  checkNoData(site: SiteRules): void {
    if (site.clock - site.lastNoDataCheck < 1000) return;
    site.lastNoDataCheck = site.clock;
    if (this.siteOffline(site)) return;
    const view = site.clockView();
    for (const packId of site.packs) {
      const pack = this.holders.pack(site.siteId, packId);
      const resolved = this.holders.rulesFor(pack);
      for (const rule of resolved.rules) {
        if (rule.kind !== "no-data") continue;
        const slot = pack.live.slot(rule);
        const step = slot.instance.siteClock?.(view);
        if (step) this.applier.apply(this.batch(), packTarget(pack, pack.live, resolved), slot, step, null);
      }
    }
  }

  /** The site was heard from: clears site-offline. */
  heard(site: SiteRules, at: number): void {
    const resolved = this.book.resolve(site.siteId, SITE_PACK_ID);
    for (const rule of resolved.rules) {
      if (rule.kind !== "site-offline") continue;
      const slot = site.lane.slot(rule);
      const step = slot.instance.heard?.(at);
      if (step) this.applier.apply(this.batch(), siteTarget(site, resolved), slot, step, null);
    }
  }

  /** Sites silent (or offline) for longer than their timeout, on the ingestion's clock `now`. */
  checkSites(now: number, startedAt: number): void {
    for (const site of this.holders.sites.values()) {
      const resolved = this.book.resolve(site.siteId, SITE_PACK_ID);
      const view = site.linkView(startedAt);
      for (const rule of resolved.rules) {
        if (rule.kind !== "site-offline") continue;
        const slot = site.lane.slot(rule);
        const step = slot.instance.tick?.(view, now);
        if (step) this.applier.apply(this.batch(), siteTarget(site, resolved), slot, step, null);
      }
    }
  }

  /** A site marked offline: no-data is not raised for its packs meanwhile (one case for the site, not one per pack). */
  private siteOffline(site: SiteRules): boolean {
    const resolved = this.book.resolve(site.siteId, SITE_PACK_ID);
    return resolved.rules.some((r) => r.kind === "site-offline" && site.lane.activeSeverity(r.id) !== null);
  }
}
