import {
  type BmsAlarmCode,
  type CaseEvidence,
  type Logger,
  type PackMeta,
  type PackSample,
  type RuleFiring,
  SEVERITY_RANK,
  type Severity,
  SITE_PACK_ID,
  type SiteStatus,
} from "@bms/shared";
import type { FiringInput, FiringResult, OpenFreezeFrame, RuleStateRow, RuleStateStore } from "@bms/storage";
import type { IngestionMetrics } from "../ingestion-metrics";
import { UsageHistory, type UsageHistoryState, type UsageStep } from "../warranty/usage-history";
import { type BmsAlarmState, evaluateBmsAlarm } from "./kinds/bms-alarm";
import { type DriftScratch, type DriftState, evaluateCellDrift, newDriftScratch } from "./kinds/cell-drift";
import { evaluateRateOfChange, newRateScratch, type RateScratch, type RateState } from "./kinds/rate-of-change";
import { evaluateRepeating, type RepeatingState } from "./kinds/repeating";
import { evaluateSensorFault, newSensorFaultScratch, type SensorFaultScratch, type SensorFaultState } from "./kinds/sensor-fault";
import { evaluateThreshold, type ThresholdState } from "./kinds/threshold";
import { caughtUp, endBackfill, type Gap, type LanesState, newLanesState, recordLiveStep, routeLate } from "./pack-lanes";
import { median, PackObservation, PlausibilityFilter, type PlausibilityLimits } from "./pack-observation";
import type { ResolvedRules, Rule, RuleBook } from "./rule-book";
import { type RuleContext, type RuleStep, round, seconds, type Trigger } from "./rule-step";

/** Where firings go: the case recorder (store + case events). */
export interface CaseSink {
  fire(input: FiringInput): Promise<FiringResult>;
  clear(siteId: string, packId: string, ruleId: string, at: number): Promise<void>;
  appendFreezeFrame(caseId: string, triggerTs: number, after: readonly PackSample[], complete: boolean): Promise<void>;
  openFreezeFrames(): Promise<OpenFreezeFrame[]>;
}

export interface RuleEngineOptions {
  book: RuleBook;
  sink: CaseSink;
  states: RuleStateStore;
  metrics: IngestionMetrics;
  log: Logger;
  /** A case resolved or closed within this before a new firing is reopened. */
  reopenWithinMs: number;
  /** The ingestion's clock (site-offline). @default Date.now */
  now?: () => number;
  /** How often soft state (windows' anchors, pack history, last-seen times) is saved, ms. @default 5000 */
  checkpointMs?: number;
  /** How often sites are checked for silence, ms. @default 1000 */
  siteCheckMs?: number;
}

/** What the engine saves per (site, pack, rule). */
interface SavedSlot {
  /** The severity of the episode the rule is in; null when it does not hold. */
  active: Severity | null;
  /** When the episode's first level started to hold. */
  since?: number;
  lastFiredAt?: number;
  /** The rules whose case took this episode (explanation). */
  attachedTo?: string[];
  s: Record<string, unknown>;
}

/** Which of a pack's sample streams a rule state belongs to (pack-lanes.ts). */
type Lane = "live" | "backfill";

interface Slot {
  siteId: string;
  packId: string;
  ruleId: string;
  lane: Lane;
  /** slotKey(siteId, packId, ruleId, lane) */
  key: string;
  saved: SavedSlot;
  scratch?: unknown;
}

interface FreezeCollector {
  caseId: string | null;
  triggerTs: number;
  until: number;
  max: number;
  samples: PackSample[];
}

/** One lane of a pack: the live lane's context also holds the pack's backfill lane. */
interface PackContext {
  siteId: string;
  packId: string;
  lane: Lane;
  meta: PackMeta | null;
  plausibility: PlausibilityFilter;
  /** Recent samples for freeze frames (settings.freezeFrameBeforeS). */
  ring: PackSample[];
  collectors: FreezeCollector[];
  /** Firings on this pack within the explain window, for the evidence of the next case. */
  recent: RuleFiring[];
  /** The lane's previous sample in this process (not after a restart: its saved newest may be stale). */
  prevTs: number | null;
  /** The last few intervals between the lane's samples (no-data's sense of "usual"; where a gap starts). */
  intervals: number[];
  /** Live lane only: the backfill lane's context while it is open. */
  backfill: PackContext | null;
  /** Live lane only: the keys of the backfill lane's rule states. */
  backfillSlots: Set<string>;
}

interface SiteContext {
  siteId: string;
  /** The newest ts the site reported (samples, status): its own clock. */
  clock: number;
  /** Recent steps of that clock longer than a second, oldest first: where the whole site was silent. */
  steps: { from: number; to: number }[];
  /** When the ingestion last heard from it (its own clock). */
  lastArrival: number;
  offlineSince: number | null;
  lastNoDataCheck: number;
  packs: Set<string>;
  link: Map<string, { ts: number; polls: number; errors: number }[]>;
}

const USAGE_RULE = "_usage";
/** The pack's lanes (pack-lanes.ts LanesState). */
const LANES_RULE = "_lanes";
/** How a backfill lane's rule state is saved: `<rule>@backfill` (rule IDs have no `@`). */
const BACKFILL_SUFFIX = "@backfill";
/** Added to the detail of a firing found in back-filled samples. */
const BACKFILL_NOTE = "Detected from back-filled samples: the agent's outbox backlog, sent after an outage.";
const RECENT_KEPT = 50;
const INTERVALS_KEPT = 8;
/** Site-clock steps remembered (longer than SITE_STEP_MS), for no-data. */
const SITE_STEPS_KEPT = 16;
const SITE_STEP_MS = 1000;

function slotKey(siteId: string, packId: string, ruleId: string, lane: Lane = "live"): string {
  return lane === "live" ? `${siteId}\u0000${packId}\u0000${ruleId}` : `${siteId}\u0000${packId}\u0000${ruleId}${BACKFILL_SUFFIX}`;
}

/** The rule ID a slot is saved under in the rule-state store. */
function savedRuleId(ruleId: string, lane: Lane): string {
  return lane === "live" ? ruleId : `${ruleId}${BACKFILL_SUFFIX}`;
}

function packKey(siteId: string, packId: string): string {
  return `${siteId}/${packId}`;
}

/** Moves the site's clock; a step of more than a second is remembered (the whole site was silent). */
function advanceClock(site: SiteContext, ts: number): void {
  if (ts <= site.clock) return;
  if (site.clock > 0 && ts - site.clock > SITE_STEP_MS) {
    site.steps.push({ from: site.clock, to: ts });
    if (site.steps.length > SITE_STEPS_KEPT) site.steps.shift();
  }
  site.clock = ts;
}

/**
 * Since when a pack with its last sample at `lastTs` counts as silent while its site reported: a
 * stretch longer than the timeout in which the whole site was silent (an uplink or broker outage,
 * an ingestion restart) does not count, so the first sample after it does not make every other
 * pack of the site "silent" for the length of the outage.
 */
function silentSince(site: SiteContext, lastTs: number, timeout: number): number {
  let since = lastTs;
  for (const step of site.steps) if (step.to > since && step.to - Math.max(step.from, since) > timeout) since = step.to;
  return since;
}

/** A lane's usual sample interval, once it has seen a few. */
function usualInterval(ctx: { intervals: readonly number[] }): number | null {
  return ctx.intervals.length >= 3 ? median(ctx.intervals) : null;
}

/** At most `max` samples, evenly thinned, keeping the newest. */
function thin(samples: readonly PackSample[], max: number): PackSample[] {
  if (samples.length <= max) return [...samples];
  const stride = samples.length / max;
  const out: PackSample[] = [];
  for (let i = 0; i < max; i++) out.push(samples[Math.min(samples.length - 1, Math.floor(samples.length - 1 - (max - 1 - i) * stride))] as PackSample);
  return out;
}

const DEFAULT_LIMITS: PlausibilityLimits = {
  temperatureRailLowC: -39,
  temperatureRailHighC: 124,
  maxStepCPerS: 5,
  cellVoltageRailLowV: 0.5,
  cellVoltageRailHighV: 4.9,
};

/**
 * Runs the rule book on every valid sample and site status, in arrival order. Rule state changes
 * synchronously (so the order is the arrival order); the case-store calls and the saving of
 * state that follow run one after another on a chain, and the promise onSample returns resolves
 * when this sample's share is done, so the MQTT acknowledgement goes out only after it: a crash
 * never loses a firing, and a replayed one is recorded once (idempotent firing keys).
 */
export class RuleEngine {
  private readonly packs = new Map<string, PackContext>();
  private readonly sites = new Map<string, SiteContext>();
  private readonly slots = new Map<string, Slot>();
  private readonly hardDirty = new Set<string>();
  private readonly softDirty = new Set<string>();
  /** Rule states dropped (a backfill lane that ended), deleted from the store by the next save. */
  private readonly dropped = new Map<string, { siteId: string; packId: string; ruleId: string }>();
  private chain: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private startedAt = 0;
  private readonly now: () => number;

  constructor(private readonly options: RuleEngineOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads saved rule state and open freeze frames, then starts the site and checkpoint timers. */
  async start(): Promise<void> {
    this.startedAt = this.now();
    for (const row of await this.options.states.load()) this.restore(row);
    for (const frame of await this.options.sink.openFreezeFrames()) {
      const pack = this.pack(frame.siteId, frame.packId);
      const settings = this.rulesFor(pack).settings;
      // A frame triggered in the gap being back-filled collects the backlog's samples.
      const backfill = this.lanes(pack).backfill;
      const ctx = backfill && frame.triggerTs < backfill.to ? this.backfillOf(pack) : pack;
      ctx.collectors.push({
        caseId: frame.caseId,
        triggerTs: frame.triggerTs,
        until: frame.triggerTs + settings.freezeFrameAfterS * 1000,
        max: Math.max(0, settings.freezeFrameMaxSamples - frame.after),
        samples: [],
      });
    }
    const siteTimer = setInterval(() => this.checkSites(), this.options.siteCheckMs ?? 1000);
    const checkpointTimer = setInterval(() => void this.checkpoint(), this.options.checkpointMs ?? 5000);
    siteTimer.unref();
    checkpointTimer.unref();
    this.timers.push(siteTimer, checkpointTimer);
  }

  onMeta(siteId: string, packId: string, meta: PackMeta): void {
    const ctx = this.pack(siteId, packId);
    ctx.meta = meta;
    if (ctx.backfill) ctx.backfill.meta = meta;
  }

  /** A valid sample: resolves once the case-store calls and state it caused are saved. */
  onSample(siteId: string, packId: string, sample: PackSample, arrivedAt = this.now()): Promise<void> {
    const site = this.site(siteId);
    site.lastArrival = arrivedAt;
    site.offlineSince = null;
    advanceClock(site, sample.ts);
    site.packs.add(packId);
    const ctx = this.pack(siteId, packId);
    const resolved = this.rulesFor(ctx);
    // Any sample, live or late, shows the site's link is up (site-offline); only live ones count for no-data.
    this.siteHeard(site);
    const lanes = this.lanes(ctx);
    if (lanes.liveTs === null || sample.ts > lanes.liveTs) this.liveSample(site, ctx, lanes, sample, resolved);
    else this.lateSample(ctx, lanes, sample, resolved);
    return this.flush();
  }

  /** A site status (retained `bms/{siteId}/status`): the agent's clock, online/offline, its poll counters. */
  onStatus(siteId: string, status: SiteStatus, arrivedAt = this.now()): Promise<void> {
    const site = this.site(siteId);
    site.lastArrival = arrivedAt;
    advanceClock(site, status.ts);
    site.offlineSince = status.state === "offline" ? arrivedAt : null;
    if (status.state === "online") this.siteHeard(site);
    for (const device of status.agent?.devices ?? []) {
      const ctx = this.pack(siteId, device.packId);
      const resolved = this.rulesFor(ctx);
      for (const rule of resolved.rules) {
        if (rule.kind !== "link-errors") continue;
        this.linkErrors(site, ctx, rule, resolved, device, status.ts);
      }
    }
    this.checkNoData(site);
    return this.flush();
  }

  /** Resolves when every case-store call and state save queued so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Stops the timers, keeps partial freeze frames (to be resumed) and saves every state. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const ctx of [...this.packs.values()].flatMap((p) => (p.backfill ? [p, p.backfill] : [p]))) {
      for (const collector of ctx.collectors.splice(0)) {
        this.enqueue(async () => {
          if (collector.caseId !== null && collector.samples.length > 0)
            await this.options.sink.appendFreezeFrame(collector.caseId, collector.triggerTs, collector.samples, false);
        });
      }
    }
    await this.checkpoint(true);
    await this.chain;
  }

  // ---- lanes: live and backfill (pack-lanes.ts) ----------------------------------------------

  /** A sample newer than the pack's newest: the live lane, which also runs the site-clock rules. */
  private liveSample(site: SiteContext, ctx: PackContext, lanes: LanesState, sample: PackSample, resolved: ResolvedRules): void {
    const prev = lanes.liveTs;
    const usual = median(ctx.intervals);
    this.addInterval(ctx, sample.ts);
    const obs = this.observe(ctx, sample, resolved);
    const step: UsageStep | null = this.usage(ctx).add(obs, resolved.warranty);
    // Soft, like the usage history it goes with: after a crash the first live step (no usual
    // interval known yet) is a gap again, one that covers the lost one.
    recordLiveStep(lanes, prev, sample.ts, usual, step);
    this.markLanes(ctx, false);
    this.evaluateRules(ctx, obs, resolved);
    this.checkNoData(site);
  }

  /**
   * A sample not newer than the pack's newest: back-filled when it belongs to a gap the live lane
   * stepped over (an agent's outbox backlog after an outage), skipped when the rules saw it already.
   */
  private lateSample(ctx: PackContext, lanes: LanesState, sample: PackSample, resolved: ResolvedRules): void {
    const routing = routeLate(lanes, sample.ts);
    if (routing.closed) this.closeBackfill(ctx, routing.closed, resolved, "the backlog moved on to a later gap");
    if (routing.opened) this.openBackfill(ctx, lanes.backfill as Gap);
    if (!routing.accept) {
      // A redelivery or replay: time series have it; the rules ran on it already.
      this.options.metrics.ruleSamplesSkipped.inc();
      if (routing.closed) this.markLanes(ctx, true);
      return;
    }
    const gap = lanes.backfill as Gap;
    const lane = this.backfillOf(ctx);
    this.addInterval(lane, sample.ts);
    const obs = this.observe(lane, sample, resolved);
    this.usage(ctx).fill(obs, resolved.warranty, gap.from, gap.usage);
    gap.from = sample.ts;
    this.options.metrics.ruleSamplesBackfilled.inc();
    this.evaluateRules(lane, obs, resolved);
    // Caught up: its last sample is one interval before the live lane's first after the gap.
    const done = caughtUp(gap, sample.ts, usualInterval(lane) ?? usualInterval(ctx));
    if (done) {
      endBackfill(lanes);
      this.closeBackfill(ctx, gap, resolved, "caught up with the live samples");
    }
    this.markLanes(ctx, routing.opened || routing.closed !== null || done);
  }

  private openBackfill(ctx: PackContext, gap: Gap): void {
    this.dropBackfillState(ctx);
    ctx.backfill = this.newContext(ctx.siteId, ctx.packId, "backfill", ctx.meta);
    // The gap starts at a live sample: the first back-filled interval is a real one.
    ctx.backfill.prevTs = gap.from;
    this.options.log.info(
      { siteId: ctx.siteId, packId: ctx.packId, from: gap.from, to: gap.to },
      `back-filling the rules: late samples from ${new Date(gap.from).toISOString()} to ${new Date(gap.to).toISOString()} (the agent's outbox backlog)`,
    );
  }

  /**
   * The backfill lane is over: caught up with the live lane, or the backlog moved on to a later gap.
   * Its state is dropped rather than merged: from the gap's end on, the live lane has the pack. An
   * episode the backfill lane still holds is handed over that way: when the live lane holds the
   * same rule, the case is the live lane's already; when it does not, the condition was over by
   * the live lane's first sample after the gap, and the case is marked cleared there. Freeze frames
   * still collecting end with the samples the backlog had.
   */
  private closeBackfill(ctx: PackContext, gap: Gap, resolved: ResolvedRules, why: string): void {
    const { siteId, packId } = ctx;
    for (const key of ctx.backfillSlots) {
      const slot = this.slots.get(key);
      if (!slot || slot.saved.active === null) continue;
      const rule = resolved.byId.get(slot.ruleId);
      const live = this.slots.get(slotKey(siteId, packId, slot.ruleId));
      if (rule?.opensCase && (live?.saved.active ?? null) === null) this.enqueue(() => this.options.sink.clear(siteId, packId, slot.ruleId, gap.to));
    }
    const lane = ctx.backfill;
    for (const collector of lane?.collectors.splice(0) ?? []) {
      this.enqueue(async () => {
        if (collector.caseId !== null) await this.options.sink.appendFreezeFrame(collector.caseId, collector.triggerTs, collector.samples, true);
      });
    }
    this.dropBackfillState(ctx);
    this.options.log.info({ siteId, packId, from: gap.from, to: gap.to }, `backfill lane closed: ${why}`);
  }

  /** Forgets the backfill lane's context and rule states (deleted from the store with the next save). */
  private dropBackfillState(ctx: PackContext): void {
    ctx.backfill = null;
    for (const key of ctx.backfillSlots) {
      const slot = this.slots.get(key);
      this.slots.delete(key);
      this.softDirty.delete(key);
      this.hardDirty.add(key);
      if (slot) this.dropped.set(key, { siteId: slot.siteId, packId: slot.packId, ruleId: savedRuleId(slot.ruleId, slot.lane) });
    }
    ctx.backfillSlots.clear();
  }

  /**
   * The lanes and the usage history change together: saved together. Hard (before the PUBACK) when
   * a backfill lane opens or closes, so that its rule states and the lanes never disagree.
   */
  private markLanes(ctx: PackContext, hard: boolean): void {
    const set = hard ? this.hardDirty : this.softDirty;
    set.add(slotKey(ctx.siteId, ctx.packId, LANES_RULE));
    set.add(slotKey(ctx.siteId, ctx.packId, USAGE_RULE));
  }

  private addInterval(ctx: PackContext, ts: number): void {
    if (ctx.prevTs !== null) {
      ctx.intervals.push(ts - ctx.prevTs);
      if (ctx.intervals.length > INTERVALS_KEPT) ctx.intervals.shift();
    }
    ctx.prevTs = ts;
  }

  /** The plausibility filter and freeze frames of the lane; the sample as the rules see it. */
  private observe(ctx: PackContext, sample: PackSample, resolved: ResolvedRules): PackObservation {
    const sensorRule = [...resolved.byId.values()].find((r) => r.kind === "sensor-fault");
    const limits = sensorRule?.kind === "sensor-fault" ? sensorRule : DEFAULT_LIMITS;
    const { cells, temps, implausible } = ctx.plausibility.filter(sample, limits);
    const ratedAh = resolved.ratedCapacityAh ?? (ctx.meta && ctx.meta.ratedCapacity > 0 ? ctx.meta.ratedCapacity : resolved.settings.defaultRatedCapacityAh);
    const obs = new PackObservation(ctx.siteId, ctx.packId, sample, resolved.chemistry, ratedAh, resolved.settings.restCurrentC, cells, temps, implausible);
    if (implausible.length > 0) this.options.metrics.implausibleReadings.inc(implausible.length);
    this.feedFreezeFrames(ctx, sample, resolved);
    return obs;
  }

  /** Every rule of the pack on one sample, with the lane's own rule states. */
  private evaluateRules(ctx: PackContext, obs: PackObservation, resolved: ResolvedRules): void {
    const { siteId, packId, lane } = ctx;
    const context: RuleContext = { firedRecently: (ruleId, at) => this.firedRecently(siteId, packId, ruleId, at, resolved, lane) };
    for (const rule of resolved.rules) {
      if (rule.kind === "no-data") {
        // The site's clock is the live lane's: a backlog neither raises nor clears no-data.
        if (lane === "live") this.noDataSample(ctx, rule, obs.ts);
        continue;
      }
      const slot = this.slot(siteId, packId, rule.id, lane);
      const step = this.evaluate(rule, obs, slot, context);
      if (!step) continue;
      this.options.metrics.ruleEvaluations.inc({ rule: rule.id });
      this.apply(rule, slot, step, obs.sample, ctx, resolved);
    }
  }

  // ---- rule evaluation --------------------------------------------------------------------

  private evaluate(rule: Rule, obs: PackObservation, slot: Slot, context: RuleContext): RuleStep | null {
    const s = slot.saved.s;
    switch (rule.kind) {
      case "threshold":
      case "cell-spread":
        return evaluateThreshold(rule, obs, s as ThresholdState);
      case "repeating":
        return evaluateRepeating(rule, obs, s as unknown as RepeatingState);
      case "rate-of-change":
        slot.scratch ??= newRateScratch();
        return evaluateRateOfChange(rule, obs, s as unknown as RateState, slot.scratch as RateScratch);
      case "cell-drift":
        slot.scratch ??= newDriftScratch();
        return evaluateCellDrift(rule, obs, s as unknown as DriftState, slot.scratch as DriftScratch);
      case "sensor-fault":
        slot.scratch ??= newSensorFaultScratch();
        return evaluateSensorFault(rule, obs, s as unknown as SensorFaultState, slot.scratch as SensorFaultScratch);
      case "bms-alarm":
        return evaluateBmsAlarm(rule, obs, s as unknown as BmsAlarmState, context);
      default:
        return null;
    }
  }

  /** Turns a rule's step into firings, escalations and clears. */
  private apply(rule: Rule, slot: Slot, step: RuleStep, sample: PackSample | null, ctx: PackContext, resolved: ResolvedRules): void {
    const key = slot.key;
    (step.hard ? this.hardDirty : this.softDirty).add(key);
    const saved = slot.saved;
    const independent = step.triggers.filter((t) => t.independent);
    for (const trigger of independent) {
      saved.active = saved.active === null ? trigger.severity : SEVERITY_RANK[trigger.severity] > SEVERITY_RANK[saved.active] ? trigger.severity : saved.active;
      saved.lastFiredAt = trigger.at;
      this.fire(rule, slot, trigger, false, sample, ctx, resolved);
    }
    const worst = step.triggers.filter((t) => !t.independent).sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0];
    if (worst) {
      if (saved.active === null) {
        saved.active = worst.severity;
        saved.since = worst.since;
        saved.attachedTo = undefined;
        saved.lastFiredAt = worst.at;
        this.hardDirty.add(key);
        this.fire(rule, slot, worst, false, sample, ctx, resolved);
      } else if (SEVERITY_RANK[worst.severity] > SEVERITY_RANK[saved.active]) {
        saved.active = worst.severity;
        saved.lastFiredAt = worst.at;
        this.hardDirty.add(key);
        this.fire(rule, slot, worst, true, sample, ctx, resolved);
      }
    }
    if (!step.active && saved.active !== null) {
      saved.active = null;
      saved.attachedTo = undefined;
      this.hardDirty.add(key);
      const at = sample?.ts ?? this.now();
      // A backlog episode that ended does not clear a case the live lane still holds.
      const liveHolds = slot.lane === "backfill" && (this.slots.get(slotKey(slot.siteId, slot.packId, slot.ruleId))?.saved.active ?? null) !== null;
      if (rule.opensCase && !liveHolds) {
        const { siteId, packId, ruleId } = slot;
        this.enqueue(() => this.options.sink.clear(siteId, packId, ruleId, at));
      }
    }
  }

  /** True when the rule holds on the pack's lane, or fired within the explain window before `at`. */
  private firedRecently(siteId: string, packId: string, ruleId: string, at: number, resolved: ResolvedRules, lane: Lane = "live"): boolean {
    const slot = this.slots.get(slotKey(siteId, packId, ruleId, lane));
    if (!slot) return false;
    if (slot.saved.active !== null) return true;
    return slot.saved.lastFiredAt !== undefined && slot.saved.lastFiredAt >= at - resolved.settings.explainWindowS * 1000;
  }

  /** Records the firing on the pack, then hands it to the case sink (unless the rule opens no case, or only a no-case rule explains it). */
  private fire(rule: Rule, slot: Slot, trigger: Trigger, escalation: boolean, sample: PackSample | null, ctx: PackContext, resolved: ResolvedRules): void {
    const { siteId, packId } = slot;
    const { metrics, log } = this.options;
    const windowStart = trigger.at - resolved.settings.explainWindowS * 1000;
    // Found in an agent's outbox backlog: said in the detail (so in the timeline and the log) and flagged.
    const backfilled = ctx.lane === "backfill";
    const detail = backfilled ? `${trigger.detail} ${BACKFILL_NOTE}` : trigger.detail;
    const firing: RuleFiring = { ruleId: rule.id, severity: trigger.severity, at: trigger.at, detail, role: "case", ...(backfilled ? { backfilled } : {}) };
    const context = ctx.recent.filter((f) => f.at >= windowStart).map((f) => ({ ...f, role: "context" as const }));
    ctx.recent.push({ ...firing, role: "context" });
    if (ctx.recent.length > RECENT_KEPT) ctx.recent.splice(0, ctx.recent.length - RECENT_KEPT);
    metrics.rulesFired.inc({ rule: rule.id, severity: trigger.severity });
    if (!rule.opensCase) {
      log.info({ siteId, packId, ruleId: rule.id, severity: trigger.severity }, `rule fired (opens no case): ${detail}`);
      return;
    }
    let attachTo = slot.saved.attachedTo ?? [];
    if (!escalation) {
      const explainers = trigger.explainedBy ?? rule.explainedBy.filter((id) => this.firedRecently(siteId, packId, id, trigger.at, resolved));
      const withCases = explainers.filter((id) => resolved.byId.get(id)?.opensCase !== false);
      if (explainers.length > 0 && withCases.length === 0) {
        metrics.firingsExplained.inc({ rule: rule.id });
        log.debug({ siteId, packId, ruleId: rule.id, explainedBy: explainers }, "rule firing explained by a rule that opens no case");
        return;
      }
      attachTo = withCases;
      slot.saved.attachedTo = withCases.length > 0 ? withCases : undefined;
    }
    const settings = resolved.settings;
    const meta = packId === SITE_PACK_ID ? null : ctx.meta;
    const codes: BmsAlarmCode[] = trigger.codes ?? [...(sample?.bmsAlarms ?? [])];
    const evidence: CaseEvidence = {
      sample,
      value: trigger.value,
      threshold: trigger.threshold,
      index: trigger.index,
      detail,
      meta,
      bmsAlarms: codes,
      rulesFired: [...context, firing].slice(-200),
      ...(backfilled ? { backfilled } : {}),
    };
    const usage = this.slots.get(slotKey(siteId, packId, USAGE_RULE));
    const history = usage && "conditions" in usage.saved.s ? (usage.saved.s as unknown as UsageHistoryState) : undefined;
    const warranty = packId === SITE_PACK_ID ? null : new UsageHistory(history).assess(meta, resolved.warranty, trigger.at);
    const before =
      sample === null
        ? undefined
        : thin(
            ctx.ring.filter((s) => s.ts >= trigger.at - settings.freezeFrameBeforeS * 1000 && s.ts <= trigger.at),
            settings.freezeFrameMaxSamples,
          );
    const input: FiringInput = {
      siteId,
      packId,
      ruleId: rule.id,
      severity: trigger.severity,
      title: rule.title,
      at: trigger.at,
      firingKey: `${siteId}/${packId}/${rule.id}/${trigger.severity}${trigger.keyPart ? `:${trigger.keyPart}` : ""}@${trigger.since}`,
      escalation,
      evidence,
      warranty,
      attachTo,
      reopenWithinMs: this.options.reopenWithinMs,
      ...(before === undefined ? {} : { freezeFrameBefore: before }),
    };
    // Collect the after-window from the next sample on; the case ID arrives with the store's answer.
    const collector: FreezeCollector | null =
      sample === null
        ? null
        : { caseId: null, triggerTs: trigger.at, until: trigger.at + settings.freezeFrameAfterS * 1000, max: settings.freezeFrameMaxSamples, samples: [] };
    if (collector) ctx.collectors.push(collector);
    this.enqueue(async () => {
      try {
        const result = await this.options.sink.fire(input);
        if (collector && (result.outcome === "opened" || result.outcome === "reopened")) collector.caseId = result.case.id;
        else if (collector) ctx.collectors.splice(ctx.collectors.indexOf(collector), 1);
      } catch (err) {
        if (collector) ctx.collectors.splice(ctx.collectors.indexOf(collector), 1);
        // The rule forgets its state so that the condition, if it persists, fires again later.
        slot.saved = { active: null, s: {} };
        this.hardDirty.add(slot.key);
        metrics.caseStoreErrors.inc();
        log.error({ err, siteId, packId, ruleId: rule.id }, "could not record the rule firing; the rule will fire again if the condition persists");
      }
    });
  }

  private feedFreezeFrames(ctx: PackContext, sample: PackSample, resolved: ResolvedRules): void {
    const settings = resolved.settings;
    ctx.ring.push(sample);
    const from = sample.ts - settings.freezeFrameBeforeS * 1000;
    let drop = 0;
    while (drop < ctx.ring.length && (ctx.ring[drop] as PackSample).ts < from) drop++;
    if (drop > 0) ctx.ring.splice(0, drop);
    for (const collector of [...ctx.collectors]) {
      if (sample.ts <= collector.triggerTs) continue;
      if (collector.samples.length < collector.max) collector.samples.push(sample);
      if (sample.ts < collector.until) continue;
      ctx.collectors.splice(ctx.collectors.indexOf(collector), 1);
      this.enqueue(async () => {
        if (collector.caseId === null) return;
        try {
          await this.options.sink.appendFreezeFrame(collector.caseId, collector.triggerTs, collector.samples, true);
        } catch (err) {
          this.options.metrics.caseStoreErrors.inc();
          this.options.log.error({ err, siteId: ctx.siteId, packId: ctx.packId, caseId: collector.caseId }, "could not store a freeze frame");
        }
      });
    }
  }

  // ---- site-level rules: no-data, site-offline, link-errors --------------------------------

  /** A pack's sample: it is alive; clears its no-data. */
  private noDataSample(ctx: PackContext, rule: Rule, ts: number): void {
    const slot = this.slot(ctx.siteId, ctx.packId, rule.id);
    slot.saved.s.lastTs = ts;
    const usual = median(ctx.intervals);
    if (usual !== null) slot.saved.s.interval = usual;
    this.softDirty.add(slotKey(ctx.siteId, ctx.packId, rule.id));
    if (slot.saved.active !== null) this.apply(rule, slot, { triggers: [], active: false, hard: true }, null, ctx, this.rulesFor(ctx));
  }

  /** Every pack of the site that lags the site's own clock by more than its timeout. */
  private checkNoData(site: SiteContext): void {
    if (site.clock - site.lastNoDataCheck < 1000) return;
    site.lastNoDataCheck = site.clock;
    if (this.siteOffline(site)) return;
    for (const packId of site.packs) {
      const ctx = this.pack(site.siteId, packId);
      const resolved = this.rulesFor(ctx);
      for (const rule of resolved.rules) {
        if (rule.kind !== "no-data") continue;
        const slot = this.slot(site.siteId, packId, rule.id);
        const lastTs = slot.saved.s.lastTs;
        if (typeof lastTs !== "number" || slot.saved.active !== null) continue;
        const interval = typeof slot.saved.s.interval === "number" ? slot.saved.s.interval : 0;
        const timeout = Math.max(rule.timeoutS * 1000, rule.missedSamples * interval);
        const silent = site.clock - silentSince(site, lastTs, timeout);
        if (silent <= timeout) continue;
        this.apply(
          rule,
          slot,
          {
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
          },
          null,
          ctx,
          resolved,
        );
      }
    }
  }

  private siteOffline(site: SiteContext): boolean {
    const resolved = this.options.book.resolve(site.siteId, SITE_PACK_ID);
    return resolved.rules.some((r) => r.kind === "site-offline" && this.slots.get(slotKey(site.siteId, SITE_PACK_ID, r.id))?.saved.active);
  }

  /** The site was heard from: clears site-offline. */
  private siteHeard(site: SiteContext): void {
    const siteRules = this.options.book.resolve(site.siteId, SITE_PACK_ID);
    const ctx = this.pack(site.siteId, SITE_PACK_ID);
    for (const rule of siteRules.rules) {
      if (rule.kind !== "site-offline") continue;
      const slot = this.slot(site.siteId, SITE_PACK_ID, rule.id);
      slot.saved.s.lastArrival = site.lastArrival;
      this.softDirty.add(slotKey(site.siteId, SITE_PACK_ID, rule.id));
      if (slot.saved.active !== null) this.apply(rule, slot, { triggers: [], active: false, hard: true }, null, ctx, siteRules);
    }
  }

  /** The timer: sites silent (or offline) for longer than their timeout, on the ingestion's clock. */
  private checkSites(): void {
    const now = this.now();
    for (const site of this.sites.values()) {
      const resolved = this.options.book.resolve(site.siteId, SITE_PACK_ID);
      const ctx = this.pack(site.siteId, SITE_PACK_ID);
      for (const rule of resolved.rules) {
        if (rule.kind !== "site-offline") continue;
        const timeout = rule.timeoutS * 1000;
        if (now - this.startedAt < timeout) continue; // grace after a start: what the broker kept is still arriving
        const slot = this.slot(site.siteId, SITE_PACK_ID, rule.id);
        if (slot.saved.active !== null) continue;
        const silent = now - site.lastArrival;
        const offline = site.offlineSince !== null ? now - site.offlineSince : 0;
        if (silent <= timeout && offline <= timeout) continue;
        const detail =
          site.offlineSince !== null
            ? `Site ${site.siteId}'s agent has been offline for ${seconds(offline)} (limit ${seconds(timeout)}).`
            : `Nothing from site ${site.siteId} (no sample, no status) for ${seconds(silent)} (limit ${seconds(timeout)}).`;
        this.apply(
          rule,
          slot,
          {
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
          },
          null,
          ctx,
          resolved,
        );
      }
    }
    void this.flush();
  }

  /** Failed polls ÷ polls over the window, from the agent's counters. */
  private linkErrors(
    site: SiteContext,
    ctx: PackContext,
    rule: Extract<Rule, { kind: "link-errors" }>,
    resolved: ResolvedRules,
    device: { polls: number; errors: number; lastError?: string | undefined; lastOkTs?: number | undefined },
    ts: number,
  ): void {
    const history = site.link.get(ctx.packId) ?? [];
    const last = history[history.length - 1];
    // A flaky link still gets a poll through now and then; a device that answers nothing since the
    // last status is communication loss, the no-data rule's case, not this one's.
    const stillAnswers = device.lastOkTs !== undefined && (last === undefined || device.lastOkTs > last.ts);
    if (last && (device.polls < last.polls || device.errors < last.errors)) history.length = 0; // the agent restarted
    if (!last || ts > last.ts) history.push({ ts, polls: device.polls, errors: device.errors });
    const from = ts - rule.windowS * 1000;
    while (history.length > 1 && (history[1] as { ts: number }).ts <= from) history.shift();
    site.link.set(ctx.packId, history);
    const base = history[0];
    const now = history[history.length - 1];
    if (!base || !now || base === now) return;
    const polls = now.polls - base.polls;
    const errors = now.errors - base.errors;
    if (polls < rule.minPolls) return;
    const ratio = errors / polls;
    const slot = this.slot(ctx.siteId, ctx.packId, rule.id);
    const active = slot.saved.active !== null;
    if (!active && ratio >= rule.errorRatio && stillAnswers) {
      const detail = `${errors} of ${polls} polls failed in ${seconds(now.ts - base.ts)} (${round(ratio * 100, 1)} %, limit ${round(rule.errorRatio * 100, 1)} %)${device.lastError ? `; the last error: ${device.lastError}` : ""}.`;
      this.apply(
        rule,
        slot,
        {
          triggers: [{ severity: rule.severity, since: base.ts, at: ts, value: round(ratio, 4), threshold: rule.errorRatio, index: null, detail }],
          active: true,
          hard: true,
        },
        ctx.ring[ctx.ring.length - 1] ?? null,
        ctx,
        resolved,
      );
    } else if (active && ratio < rule.clearRatio) {
      this.apply(rule, slot, { triggers: [], active: false, hard: true }, null, ctx, resolved);
    }
  }

  // ---- state ------------------------------------------------------------------------------

  private rulesFor(ctx: PackContext): ResolvedRules {
    return this.options.book.resolve(ctx.siteId, ctx.packId, ctx.meta?.chemistry);
  }

  private site(siteId: string): SiteContext {
    let site = this.sites.get(siteId);
    if (!site) {
      site = { siteId, clock: 0, steps: [], lastArrival: this.now(), offlineSince: null, lastNoDataCheck: 0, packs: new Set(), link: new Map() };
      this.sites.set(siteId, site);
    }
    return site;
  }

  /** The pack's live lane context. */
  private pack(siteId: string, packId: string): PackContext {
    const key = packKey(siteId, packId);
    let ctx = this.packs.get(key);
    if (!ctx) {
      ctx = this.newContext(siteId, packId, "live", null);
      this.packs.set(key, ctx);
    }
    return ctx;
  }

  private newContext(siteId: string, packId: string, lane: Lane, meta: PackMeta | null): PackContext {
    return {
      siteId,
      packId,
      lane,
      meta,
      plausibility: new PlausibilityFilter(),
      ring: [],
      collectors: [],
      recent: [],
      prevTs: null,
      intervals: [],
      backfill: null,
      backfillSlots: new Set(),
    };
  }

  /** The pack's backfill lane context (made on first use, e.g. after a restart mid-backlog). */
  private backfillOf(ctx: PackContext): PackContext {
    ctx.backfill ??= this.newContext(ctx.siteId, ctx.packId, "backfill", ctx.meta);
    return ctx.backfill;
  }

  /** The pack's lanes, saved as its `_lanes` rule state. */
  private lanes(ctx: PackContext): LanesState {
    const slot = this.slot(ctx.siteId, ctx.packId, LANES_RULE);
    const s = slot.saved.s as Partial<LanesState>;
    if (!Array.isArray(s.gaps) || (s.liveTs !== null && typeof s.liveTs !== "number")) slot.saved.s = newLanesState() as unknown as Record<string, unknown>;
    return slot.saved.s as unknown as LanesState;
  }

  private usage(ctx: PackContext): UsageHistory {
    const usage = this.slot(ctx.siteId, ctx.packId, USAGE_RULE);
    if (!("conditions" in usage.saved.s)) usage.saved.s = { since: null, lastTs: null, conditions: {} };
    return new UsageHistory(usage.saved.s as unknown as UsageHistoryState);
  }

  private slot(siteId: string, packId: string, ruleId: string, lane: Lane = "live"): Slot {
    const key = slotKey(siteId, packId, ruleId, lane);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { siteId, packId, ruleId, lane, key, saved: { active: null, s: {} } };
      this.slots.set(key, slot);
      this.dropped.delete(key);
      if (lane === "backfill") this.pack(siteId, packId).backfillSlots.add(key);
    }
    return slot;
  }

  private restore(row: RuleStateRow): void {
    const saved = row.state as SavedSlot;
    if (typeof saved !== "object" || saved === null || typeof saved.s !== "object") return;
    if (row.ruleId.endsWith(BACKFILL_SUFFIX)) {
      // A backfill lane's state: it goes on with the rest of the backlog.
      const ruleId = row.ruleId.slice(0, -BACKFILL_SUFFIX.length);
      const key = slotKey(row.siteId, row.packId, ruleId, "backfill");
      this.slots.set(key, { siteId: row.siteId, packId: row.packId, ruleId, lane: "backfill", key, saved });
      this.pack(row.siteId, row.packId).backfillSlots.add(key);
      return;
    }
    const key = slotKey(row.siteId, row.packId, row.ruleId);
    this.slots.set(key, { siteId: row.siteId, packId: row.packId, ruleId: row.ruleId, lane: "live", key, saved });
    const site = this.site(row.siteId);
    if (typeof saved.s.lastArrival === "number") site.lastArrival = saved.s.lastArrival;
    if (typeof saved.s.lastTs === "number" && row.packId !== SITE_PACK_ID) {
      site.packs.add(row.packId);
      site.clock = Math.max(site.clock, saved.s.lastTs);
    }
  }

  private enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(job).catch((err: unknown) => {
      this.options.metrics.caseStoreErrors.inc();
      this.options.log.error({ err }, "rule engine job failed");
    });
  }

  /** Saves the states that must survive a crash, after the case-store calls queued before. */
  private flush(): Promise<void> {
    if (this.hardDirty.size > 0) {
      const keys = [...this.hardDirty];
      this.hardDirty.clear();
      for (const key of keys) this.softDirty.delete(key);
      this.enqueue(() => this.save(keys));
    }
    return this.chain;
  }

  private checkpoint(all = false): Promise<void> {
    const keys = [...this.softDirty, ...this.hardDirty];
    this.softDirty.clear();
    this.hardDirty.clear();
    if (keys.length > 0 || all) this.enqueue(() => this.save(keys));
    return this.chain;
  }

  private async save(keys: readonly string[]): Promise<void> {
    const rows: RuleStateRow[] = [];
    for (const key of keys) {
      const slot = this.slots.get(key);
      const gone = this.dropped.get(key);
      if (slot) rows.push({ siteId: slot.siteId, packId: slot.packId, ruleId: savedRuleId(slot.ruleId, slot.lane), state: slot.saved });
      else if (gone) rows.push({ ...gone, state: null });
    }
    try {
      await this.options.states.save(rows);
      for (const key of keys) if (!this.slots.has(key)) this.dropped.delete(key);
    } catch (err) {
      for (const key of keys) this.softDirty.add(key);
      this.options.metrics.caseStoreErrors.inc();
      this.options.log.error({ err, rows: rows.length }, "could not save rule state; retrying at the next checkpoint");
    }
  }
}
