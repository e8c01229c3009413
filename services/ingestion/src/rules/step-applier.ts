import { type Logger, type PackMeta, type PackSample, SEVERITY_RANK } from "@bms/shared";
import type { IngestionMetrics } from "../ingestion-metrics";
import type { HealthState } from "../warranty/health-state";
import type { UsageHistoryState } from "../warranty/usage-history";
import { assessWarranty } from "../warranty/warranty-assessment";
import { EvidenceFollower, type FollowUpOut } from "./evidence-follower";
import { buildFiring, firingOf } from "./firing-builder";
import type { RuleSubject } from "./kinds/kind-module";
import type { RuleBatch } from "./rule-batch";
import type { ResolvedRules } from "./rule-book";
import type { RuleLane, Slot } from "./rule-lane";
import type { RuleStep, Trigger } from "./rule-step";
import type { Dirt } from "./site-rules";

/** Where a rule's step happened: the lane, and what a firing there needs. */
export interface StepTarget {
  subject: RuleSubject;
  lane: RuleLane;
  /** The pack's live lane: explainers are looked up there, and a backfill episode that ends does not clear a case it holds. */
  live: RuleLane;
  /** Null for the site's own rules. */
  meta: PackMeta | null;
  usage: UsageHistoryState | null;
  health: HealthState | null;
  resolved: ResolvedRules;
  mark(dirt: Dirt): void;
}

export interface StepApplierDeps {
  metrics: IngestionMetrics;
  log: Logger;
  /** A case resolved or closed within this before a new firing is reopened. */
  reopenWithinMs: number;
  /** For a clear that has no sample. */
  now(): number;
}

/**
 * Turns a rule's step into firings, escalations and clears, in the batch being built: a level that
 * starts to hold opens an episode (a firing), a worse level of the same episode escalates it, and
 * the episode's end clears the case's condition. A rule that opens no case, or whose firing is
 * explained by one that opens none, is logged and counted only.
 */
export class StepApplier {
  private readonly follower = new EvidenceFollower();

  constructor(private readonly deps: StepApplierDeps) {}

  apply(batch: RuleBatch, target: StepTarget, slot: Slot, step: RuleStep, sample: PackSample | null): void {
    let dirt: Dirt = step.hard ? "hard" : "soft";
    for (const trigger of step.triggers) {
      if (!trigger.independent) continue;
      slot.active = slot.active === null || SEVERITY_RANK[trigger.severity] > SEVERITY_RANK[slot.active] ? trigger.severity : slot.active;
      slot.lastFiredAt = trigger.at;
      this.fire(batch, target, slot, trigger, false, sample);
    }
    // The worst trigger that is part of the episode (a loop: most steps carry none, and this runs per rule per sample).
    let worst: Trigger | undefined;
    for (const t of step.triggers) if (!t.independent && (worst === undefined || SEVERITY_RANK[t.severity] > SEVERITY_RANK[worst.severity])) worst = t;
    if (worst) {
      if (slot.active === null) {
        slot.active = worst.severity;
        slot.since = worst.since;
        slot.attachedTo = undefined;
        slot.lastFiredAt = worst.at;
        dirt = "hard";
        this.fire(batch, target, slot, worst, false, sample);
        this.follower.start(slot, worst.value, worst.at);
      } else if (SEVERITY_RANK[worst.severity] > SEVERITY_RANK[slot.active]) {
        slot.active = worst.severity;
        slot.lastFiredAt = worst.at;
        dirt = "hard";
        this.fire(batch, target, slot, worst, true, sample);
      }
    }
    // The evidence of the case a live episode opened follows it while it holds (not a backlog's, nor a case that took it as another rule's).
    const followed = slot.rule.opensCase && slot.attachedTo === undefined && target.lane === target.live;
    if (step.active && slot.active !== null && followed && step.reading && sample !== null)
      this.follow(batch, target, slot, this.follower.held(slot, step.reading, sample.ts));
    if (!step.active && slot.active !== null) {
      if (followed) this.follow(batch, target, slot, this.follower.end(slot));
      slot.active = null;
      slot.attachedTo = undefined;
      dirt = "hard";
      // A backlog episode that ended does not clear a case the live lane still holds.
      const liveHolds = target.lane !== target.live && target.live.activeSeverity(slot.rule.id) !== null;
      if (slot.rule.opensCase && !liveHolds) batch.clear(target.subject.siteId, target.subject.packId, slot.rule.id, sample?.ts ?? this.deps.now());
    }
    target.mark(dirt);
  }

  /** Records the firing on the lane, then hands it to the case store (unless the rule opens no case, or only a no-case rule explains it). */
  /** A follow-up of the episode's evidence goes in the batch with the warranty assessment re-run at its time. */
  private follow(batch: RuleBatch, target: StepTarget, slot: Slot, out: FollowUpOut | null): void {
    if (out === null) return;
    const { siteId, packId } = target.subject;
    // The same assessment as at opening (with the pack's health), at the follow-up's time.
    const warranty =
      target.usage === null
        ? null
        : assessWarranty({
            siteId,
            packId,
            usage: target.usage,
            health: target.health,
            meta: target.meta,
            terms: target.resolved.warranty,
            settings: target.resolved.health,
            at: out.at,
          });
    batch.follow({ kind: "follow", siteId, packId, ruleId: slot.rule.id, at: out.at, followUp: out.followUp, warranty });
  }

  private fire(batch: RuleBatch, target: StepTarget, slot: Slot, trigger: Trigger, escalation: boolean, sample: PackSample | null): void {
    const { metrics, log } = this.deps;
    const { rule } = slot;
    const { siteId, packId } = target.subject;
    const explainMs = target.resolved.settings.explainWindowS * 1000;
    const firing = firingOf(rule, trigger, target.lane);
    const context = target.lane.recent.filter((f) => f.at >= trigger.at - explainMs).map((f) => ({ ...f, role: "context" as const }));
    target.lane.remember({ ...firing, role: "context" });
    metrics.rulesFired.inc({ rule: rule.id, severity: trigger.severity });
    if (!rule.opensCase) {
      log.info({ siteId, packId, ruleId: rule.id, severity: trigger.severity }, `rule fired (opens no case): ${firing.detail}`);
      return;
    }
    let attachTo = slot.attachedTo ?? [];
    if (!escalation) {
      const explainers = trigger.explainedBy ?? rule.explainedBy.filter((id) => target.live.firedRecently(id, trigger.at, explainMs));
      const withCases = explainers.filter((id) => target.resolved.byId.get(id)?.opensCase !== false);
      if (explainers.length > 0 && withCases.length === 0) {
        metrics.firingsExplained.inc({ rule: rule.id });
        log.debug({ siteId, packId, ruleId: rule.id, explainedBy: explainers }, "rule firing explained by a rule that opens no case");
        return;
      }
      attachTo = withCases;
      slot.attachedTo = withCases.length > 0 ? withCases : undefined;
    }
    const input = buildFiring({
      rule,
      subject: target.subject,
      trigger,
      firing,
      context,
      escalation,
      sample,
      lane: target.lane,
      resolved: target.resolved,
      meta: target.meta,
      usage: target.usage,
      health: target.health,
      attachTo,
      reopenWithinMs: this.deps.reopenWithinMs,
    });
    batch.fire(input, target.lane);
    // Collect the after-window from the next sample on; the store keeps it under the firing's key.
    if (sample !== null) {
      const settings = target.resolved.settings;
      target.lane.frames.start({
        firingKey: input.firingKey,
        triggerTs: trigger.at,
        until: trigger.at + settings.freezeFrameAfterS * 1000,
        max: settings.freezeFrameMaxSamples,
        samples: [],
      });
    }
  }
}
