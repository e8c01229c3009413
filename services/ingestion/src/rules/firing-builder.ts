import type { BmsAlarmCode, CaseEvidence, PackMeta, PackSample, RuleFiring } from "@bms/shared";
import type { FiringInput } from "@bms/storage";
import type { HealthState } from "../warranty/health-state";
import type { UsageHistoryState } from "../warranty/usage-history";
import { assessWarranty } from "../warranty/warranty-assessment";
import type { AnyRule, RuleSubject } from "./kinds/kind-module";
import type { ResolvedRules } from "./rule-book";
import type { RuleLane } from "./rule-lane";
import type { Trigger } from "./rule-step";

/** Added to the detail of a firing found in back-filled samples. */
export const BACKFILL_NOTE = "Detected from back-filled samples: the agent's outbox backlog, sent after an outage.";

/** How a rule's trigger reads in the timeline, the log and the evidence (the backlog said where it applies). */
export function firingOf(rule: AnyRule, trigger: Trigger, lane: RuleLane): RuleFiring {
  const backfilled = lane.name === "backfill";
  const detail = backfilled ? `${trigger.detail} ${BACKFILL_NOTE}` : trigger.detail;
  return { ruleId: rule.id, severity: trigger.severity, at: trigger.at, detail, role: "case", ...(backfilled ? { backfilled } : {}) };
}

/** The idempotency key of a firing: site, pack, rule, level (and the code), and when the condition started to hold. */
export function firingKeyOf(subject: RuleSubject, ruleId: string, trigger: Trigger): string {
  return `${subject.siteId}/${subject.packId}/${ruleId}/${trigger.severity}${trigger.keyPart ? `:${trigger.keyPart}` : ""}@${trigger.since}`;
}

export interface FiringParts {
  rule: AnyRule;
  subject: RuleSubject;
  trigger: Trigger;
  firing: RuleFiring;
  /** The lane's earlier firings within the explain window, as context. */
  context: readonly RuleFiring[];
  escalation: boolean;
  /** The triggering sample (null for a firing on a clock: no-data, site-offline). */
  sample: PackSample | null;
  lane: RuleLane;
  resolved: ResolvedRules;
  /** Null for the site's own rules. */
  meta: PackMeta | null;
  usage: UsageHistoryState | null;
  /** Null for the site's own rules. */
  health: HealthState | null;
  attachTo: readonly string[];
  reopenWithinMs: number;
}

/** What the case store gets for a firing: evidence, the warranty assessment (with the pack's health) and the freeze frame's "before" side. */
export function buildFiring(p: FiringParts): FiringInput {
  const settings = p.resolved.settings;
  const codes: BmsAlarmCode[] = p.trigger.codes ?? [...(p.sample?.bmsAlarms ?? [])];
  const backfilled = p.lane.name === "backfill";
  const evidence: CaseEvidence = {
    sample: p.sample,
    value: p.trigger.value,
    threshold: p.trigger.threshold,
    index: p.trigger.index,
    detail: p.firing.detail,
    meta: p.meta,
    bmsAlarms: codes,
    rulesFired: [...p.context, p.firing].slice(-200),
    ...(backfilled ? { backfilled } : {}),
  };
  const warranty =
    p.usage === null
      ? null
      : assessWarranty({
          siteId: p.subject.siteId,
          packId: p.subject.packId,
          usage: p.usage,
          health: p.health,
          meta: p.meta,
          terms: p.resolved.warranty,
          settings: p.resolved.health,
          at: p.trigger.at,
        });
  return {
    siteId: p.subject.siteId,
    packId: p.subject.packId,
    ruleId: p.rule.id,
    severity: p.trigger.severity,
    title: p.rule.title,
    at: p.trigger.at,
    firingKey: firingKeyOf(p.subject, p.rule.id, p.trigger),
    escalation: p.escalation,
    evidence,
    warranty,
    attachTo: p.attachTo,
    reopenWithinMs: p.reopenWithinMs,
    ...(p.sample === null ? {} : { freezeFrameBefore: p.lane.frames.before(p.trigger.at, settings.freezeFrameBeforeS * 1000, settings.freezeFrameMaxSamples) }),
  };
}
