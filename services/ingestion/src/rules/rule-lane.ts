import { median, type RuleFiring, type Severity } from "@bms/shared";
import type { FollowState } from "./evidence-follower";
import { FreezeFrames } from "./freeze-frames";
import type { AnyRule, RuleInstance, RuleSubject } from "./kinds/kind-module";
import { RULE_KINDS } from "./kinds/registry";
import { PlausibilityFilter } from "./pack-observation";
import type { SlotState } from "./rule-state";

/** Which of a pack's sample streams (pack-lanes.ts). */
export type LaneName = "live" | "backfill";

/** One rule on one lane: the episode it is in, and its kind's instance. */
export interface Slot {
  rule: AnyRule;
  instance: RuleInstance;
  /** The severity of the episode the rule is in; null when it does not hold. */
  active: Severity | null;
  since?: number | undefined;
  lastFiredAt?: number | undefined;
  /** The rules whose case took this episode (explanation). */
  attachedTo?: string[] | undefined;
  /** Following the episode's evidence (memory only, not saved). */
  follow?: FollowState | undefined;
}

const RECENT_KEPT = 50;
const INTERVALS_KEPT = 8;

/** Reports a saved rule state that did not fit (the rule then starts afresh). */
export type InvalidStateReport = (ruleId: string, problem: string) => void;

/**
 * One lane of one pack (or the site's own rules): its rule slots, plausibility filter, freeze
 * frames, recent firings and sample intervals. Slots are made when a rule first looks at the lane,
 * from the state loaded for it (checked by its kind) or afresh.
 */
export class RuleLane {
  readonly plausibility = new PlausibilityFilter();
  readonly frames = new FreezeFrames();
  /** Firings within the explain window, for the evidence of the next case. */
  readonly recent: RuleFiring[] = [];
  /** The lane's previous sample in this process (not after a restart: its saved newest may be stale). */
  prevTs: number | null = null;
  private readonly intervals: number[] = [];
  /** The intervals' median, undefined until asked for after a change. */
  private median: number | null | undefined = undefined;
  private readonly slots = new Map<string, Slot>();

  constructor(
    readonly name: LaneName,
    readonly subject: RuleSubject,
    /** States loaded for rules this lane has not met yet. */
    private readonly saved: Record<string, SlotState>,
    private readonly invalid: InvalidStateReport,
  ) {}

  /** The rule's slot; a rule whose definition changed (the pack's chemistry became known) keeps its state. */
  slot(rule: AnyRule): Slot {
    const slot = this.slots.get(rule.id);
    if (slot?.rule === rule) return slot;
    const prior: SlotState | undefined = slot
      ? { kind: slot.rule.kind, active: slot.active, since: slot.since, lastFiredAt: slot.lastFiredAt, attachedTo: slot.attachedTo, s: slot.instance.saved() }
      : this.saved[rule.id];
    delete this.saved[rule.id];
    const fits = prior !== undefined && prior.kind === rule.kind;
    if (prior !== undefined && !fits) this.invalid(rule.id, `saved as a ${prior.kind} rule, now a ${rule.kind} rule`);
    const made: Slot = {
      rule,
      instance: RULE_KINDS[rule.kind].create(rule, this.subject, fits ? prior.s : undefined, (problem) => this.invalid(rule.id, problem)),
      active: fits ? prior.active : null,
      since: fits ? prior.since : undefined,
      lastFiredAt: fits ? prior.lastFiredAt : undefined,
      attachedTo: fits ? prior.attachedTo : undefined,
    };
    this.slots.set(rule.id, made);
    return made;
  }

  /** The rule holds on this lane, or fired within `windowMs` before `at`. */
  firedRecently(ruleId: string, at: number, windowMs: number): boolean {
    const slot = this.slots.get(ruleId) ?? this.saved[ruleId];
    if (!slot) return false;
    if (slot.active !== null) return true;
    return slot.lastFiredAt !== undefined && slot.lastFiredAt >= at - windowMs;
  }

  /** The rule's episode on this lane (null when it does not hold or has no slot). */
  activeSeverity(ruleId: string): Severity | null {
    return (this.slots.get(ruleId) ?? this.saved[ruleId])?.active ?? null;
  }

  /** Slots whose episode holds, for handing the lane over (a backfill lane that ends). */
  activeSlots(): Slot[] {
    return [...this.slots.values()].filter((s) => s.active !== null);
  }

  remember(firing: RuleFiring): void {
    this.recent.push(firing);
    if (this.recent.length > RECENT_KEPT) this.recent.splice(0, this.recent.length - RECENT_KEPT);
  }

  addInterval(ts: number): void {
    if (this.prevTs !== null) {
      this.intervals.push(ts - this.prevTs);
      if (this.intervals.length > INTERVALS_KEPT) this.intervals.shift();
      this.median = undefined;
    }
    this.prevTs = ts;
  }

  /** The median of the recent intervals (null before the first); sorted once per new interval. */
  medianInterval(): number | null {
    if (this.median === undefined) this.median = median(this.intervals);
    return this.median;
  }

  /** The lane's usual interval, once it has seen a few. */
  usualInterval(): number | null {
    return this.intervals.length >= 3 ? this.medianInterval() : null;
  }

  /** Every rule's state, as saved in the pack's row (loaded ones not met yet included). */
  toJson(): Record<string, SlotState> {
    const out: Record<string, SlotState> = { ...this.saved };
    for (const [id, slot] of this.slots) {
      out[id] = {
        kind: slot.rule.kind,
        active: slot.active,
        ...(slot.since === undefined ? {} : { since: slot.since }),
        ...(slot.lastFiredAt === undefined ? {} : { lastFiredAt: slot.lastFiredAt }),
        ...(slot.attachedTo === undefined ? {} : { attachedTo: slot.attachedTo }),
        s: slot.instance.saved(),
      };
    }
    return out;
  }
}
