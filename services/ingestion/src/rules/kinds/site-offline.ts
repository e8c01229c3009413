import { z } from "zod";
import { type RuleStep, seconds } from "../rule-step";
import { defineKind, type RuleOf, type SiteLinkView } from "./kind-module";

const SiteOfflineState = z.object({ a: z.boolean() });
type SiteOfflineState = z.infer<typeof SiteOfflineState>;

function onTick(rule: RuleOf<"site-offline">, state: SiteOfflineState, site: SiteLinkView, now: number): RuleStep | null {
  const timeout = rule.timeoutS * 1000;
  // A grace after a start: what the broker kept for the ingestion is still arriving.
  if (state.a || now - site.startedAt < timeout) return null;
  const silent = now - site.lastArrival;
  const offline = site.offlineSince !== null ? now - site.offlineSince : 0;
  if (silent <= timeout && offline <= timeout) return null;
  state.a = true;
  const detail =
    site.offlineSince !== null
      ? `Site ${site.siteId}'s agent has been offline for ${seconds(offline)} (limit ${seconds(timeout)}).`
      : `Nothing from site ${site.siteId} (no sample, no status) for ${seconds(silent)} (limit ${seconds(timeout)}).`;
  return {
    triggers: [
      {
        severity: rule.severity,
        since: site.offlineSince ?? site.lastArrival,
        at: now,
        value: Math.max(silent, offline),
        threshold: timeout,
        index: null,
        detail,
      },
    ],
    active: true,
    hard: true,
  };
}

/** Nothing at all from a site, or its agent offline, for the timeout, on the ingestion's clock; the next thing heard clears it. */
export const siteOfflineKind = defineKind({
  kinds: ["site-offline"],
  state: SiteOfflineState,
  newState: (): SiteOfflineState => ({ a: false }),
  newScratch: () => undefined,
  instance: (rule, state) => ({
    tick: (site, now) => onTick(rule, state, site, now),
    heard: () => {
      if (!state.a) return null;
      state.a = false;
      return { triggers: [], active: false, hard: true };
    },
  }),
});
