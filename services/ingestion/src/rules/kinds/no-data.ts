import { z } from "zod";
import { type RuleStep, seconds, steady } from "../rule-step";
import { defineKind, type RuleOf, type SampleContext, type SiteClockView } from "./kind-module";

const NoDataState = z.object({
  /** The pack's newest live sample. */
  lastTs: z.number().nullable(),
  /** Its usual interval between samples, ms. */
  interval: z.number().min(0),
  a: z.boolean(),
});
type NoDataState = z.infer<typeof NoDataState>;

/** A live sample: the pack is alive; clears the rule. */
function onSample(state: NoDataState, ts: number, context: SampleContext): RuleStep {
  state.lastTs = ts;
  if (context.usualIntervalMs !== null) state.interval = context.usualIntervalMs;
  if (!state.a) return steady(false, false);
  state.a = false;
  return steady(false, true);
}

/** The site's clock moved: the pack lags it by more than its timeout. */
function onSiteClock(rule: RuleOf<"no-data">, packId: string, state: NoDataState, site: SiteClockView): RuleStep | null {
  const lastTs = state.lastTs;
  if (lastTs === null || state.a) return null;
  const timeout = Math.max(rule.timeoutS * 1000, rule.missedSamples * state.interval);
  const silent = site.clock - site.silentSince(lastTs, timeout);
  if (silent <= timeout) return null;
  state.a = true;
  return {
    triggers: [
      {
        severity: rule.severity,
        since: lastTs,
        at: site.clock,
        value: silent,
        threshold: timeout,
        index: null,
        detail: `No sample from pack ${packId} for ${seconds(silent)} while its site kept reporting (limit ${seconds(timeout)}); the last one was taken at ${new Date(lastTs).toISOString()}.`,
      },
    ],
    active: true,
    hard: true,
  };
}

/**
 * A pack silent while its site reports, on the site's own clock (the newest ts any of its packs or
 * its agent reported): a backlog neither raises nor clears it, and a whole silent site is
 * site-offline's case, not one per pack. The engine feeds it live samples only.
 */
export const noDataKind = defineKind({
  kinds: ["no-data"],
  state: NoDataState,
  newState: (): NoDataState => ({ lastTs: null, interval: 0, a: false }),
  newScratch: () => undefined,
  instance: (rule, state, _scratch, subject) => ({
    sample: (obs, context) => onSample(state, obs.ts, context),
    siteClock: (site) => onSiteClock(rule, subject.packId, state, site),
  }),
});
