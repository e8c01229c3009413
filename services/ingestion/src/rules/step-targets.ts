import type { HealthContext } from "../warranty/pack-health";
import type { PackRules } from "./pack-rules";
import type { ResolvedRules } from "./rule-book";
import type { RuleLane } from "./rule-lane";
import type { SiteRules } from "./site-rules";
import type { StepTarget } from "./step-applier";

/** What a step of a pack's rule on `lane` changes: the pack's lane, live lane, meta, usage and health. */
export function packTarget(pack: PackRules, lane: RuleLane, resolved: ResolvedRules): StepTarget {
  return {
    subject: pack.subject,
    lane,
    live: pack.live,
    meta: pack.meta,
    usage: pack.usage.saved,
    health: pack.health.state,
    resolved,
    mark: (dirt) => pack.mark(dirt),
  };
}

/** What a step of a site's own rule (site-offline) changes: the site's lane only. */
export function siteTarget(site: SiteRules, resolved: ResolvedRules): StepTarget {
  return { subject: site.lane.subject, lane: site.lane, live: site.lane, meta: null, usage: null, health: null, resolved, mark: (dirt) => site.mark(dirt) };
}

/** What the pack's health tallies need besides the sample. */
export function healthContext(pack: PackRules, resolved: ResolvedRules): HealthContext {
  return { terms: resolved.warranty, settings: resolved.health, meta: pack.meta, chemistry: resolved.chemistry };
}
