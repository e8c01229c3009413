import { Backoff, type Logger, type PackMeta, type PackSample, type SiteStatus } from "@bms/shared";
import type { RuleLedger } from "@bms/storage";
import type { CaseAnnouncer } from "../case-announcer";
import type { IngestionMetrics } from "../ingestion-metrics";
import type { AnyRule } from "./kinds/kind-module";
import { LedgerCommitter } from "./ledger-committer";
import { caughtUp, endBackfill, type Gap, recordLiveStep, routeLate } from "./pack-lanes";
import { PackObservation } from "./pack-observation";
import { PackResidency, type StateKey } from "./pack-residency";
import type { PackRules } from "./pack-rules";
import { plausibilityLimits } from "./plausibility-limits";
import { RuleBatch } from "./rule-batch";
import type { ResolvedRules, RuleBook } from "./rule-book";
import { RuleHolders } from "./rule-holders";
import type { RuleInput } from "./rule-input";
import type { RuleLane } from "./rule-lane";
import { QUIET } from "./rule-step";
import { SiteClockRules } from "./site-clock-rules";
import type { SiteRules } from "./site-rules";
import { StepApplier, type StepTarget } from "./step-applier";
import { healthContext, packTarget } from "./step-targets";

export interface RuleEngineOptions {
  book: RuleBook;
  /** Where firings, clears, freeze frames and rule state are committed, one transaction per batch. */
  ledger: RuleLedger;
  /** Told what each committed command did (case events, log lines, metrics). */
  announce: CaseAnnouncer;
  metrics: IngestionMetrics;
  log: Logger;
  /** A case resolved or closed within this before a new firing is reopened. */
  reopenWithinMs: number;
  /** The ingestion's clock (site-offline). @default Date.now */
  now?: () => number;
  /** How often soft state (windows' anchors, usage history, last-seen times) is saved, ms. @default 5000 */
  checkpointMs?: number;
  /** How often sites are checked for silence, ms. @default 1000 */
  siteCheckMs?: number;
  /**
   * Partitioned ingestion (docs/scale-out.md): states are loaded per pack before its first sample
   * (`forget` drops them when the partition goes), every batch saves every state it changed (the
   * worker taking over a partition skips exactly what was acknowledged), and the sites' own rules
   * run only while `setLeader(true)`. @default false: every state loaded at start, soft changes saved at checkpoints
   */
  partitioned?: boolean;
}

export type { RuleInput };

/**
 * Pack states a checkpoint saves per transaction; the intake's batches run between the slices. A
 * slice of 25 holds the loop for a few ms (100 held it about 40 ms with 1 000 packs).
 */
const CHECKPOINT_SLICE = 25;

/**
 * Runs the rule book on every valid sample and site status, in arrival order, a batch at a time:
 * the rules look at the batch's inputs one after another (synchronously, so the order is the
 * arrival order), then what they changed (firings, clears, freeze frames, the state of every pack
 * whose change a restart must not lose) is committed in one transaction, and `run` resolves: only
 * then may the batch's messages be acknowledged. A crash never loses a firing, and a replayed
 * batch is recorded once (idempotent firing keys; the lanes skip samples the rules have seen).
 *
 * Where things live: kinds/ (one module per rule kind, behind a registry), rule-lane.ts (a lane's
 * slots), pack-rules.ts and site-rules.ts (per pack and per site), rule-holders.ts (them in
 * memory: made, restored, their changed rows), pack-lanes.ts (live and backfill routing),
 * step-applier.ts (steps into firings) and step-targets.ts (what a step changes), site-clock-rules.ts
 * (no-data, site-offline), firing-builder.ts (evidence, warranty), freeze-frames.ts,
 * ledger-committer.ts (commit, retry).
 */
export class RuleEngine {
  private readonly holders: RuleHolders;
  private readonly residency = new PackResidency();
  private readonly partitioned: boolean;
  /** Runs the sites' own rules and saves their states: always, or while the leader (partitioned). */
  private siteOwner: boolean;
  private readonly loadBackoff = new Backoff({ minMs: 100, maxMs: 5000 });
  private stopping = false;
  private batch = new RuleBatch();
  private chain: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private startedAt = 0;
  private readonly now: () => number;
  private readonly applier: StepApplier;
  private readonly clockRules: SiteClockRules;
  private readonly committer: LedgerCommitter;
  /**
   * Evaluations since the last commit, per rule of each resolved rule list (same order), counted into
   * the metric there: prom-client hashes the labels on every call, and a map by rule ID cost two
   * lookups per rule per sample.
   */
  private readonly evaluations = new Map<readonly AnyRule[], Uint32Array>();

  constructor(private readonly options: RuleEngineOptions) {
    this.now = options.now ?? Date.now;
    this.partitioned = options.partitioned ?? false;
    this.siteOwner = !this.partitioned;
    this.applier = new StepApplier({ metrics: options.metrics, log: options.log, reopenWithinMs: options.reopenWithinMs, now: this.now });
    this.committer = new LedgerCommitter(options.ledger, options.metrics, options.log);
    this.holders = new RuleHolders({ book: options.book, metrics: options.metrics, log: options.log, now: this.now, partitioned: this.partitioned });
    this.clockRules = new SiteClockRules(options.book, this.holders, this.applier, () => this.batch);
  }

  /**
   * Loads the saved pack and site states and the open freeze frames (partitioned: none, they are
   * loaded per pack), then starts the site and checkpoint timers.
   */
  async start(): Promise<void> {
    this.startedAt = this.now();
    if (!this.partitioned) {
      for (const row of await this.options.ledger.loadStates()) this.holders.restore(row);
      for (const frame of await this.options.ledger.openFreezeFrames()) this.holders.resumeFrame(frame);
    }
    const siteTimer = setInterval(() => void this.enqueue(() => this.checkSites()), this.options.siteCheckMs ?? 1000);
    const checkpointTimer = setInterval(() => void this.checkpoint(), this.options.checkpointMs ?? 5000);
    siteTimer.unref();
    checkpointTimer.unref();
    this.timers.push(siteTimer, checkpointTimer);
  }

  /** Looks at the inputs in order, then commits what they changed; resolves once it is durable. */
  run(inputs: readonly RuleInput[]): Promise<void> {
    return this.enqueue(async () => {
      if (this.partitioned) await this.admit(inputs);
      for (const input of inputs) {
        if (input.kind === "sample") this.sample(input.siteId, input.packId, input.sample, input.arrivedAt);
        else if (input.kind === "meta") this.holders.meta(input.siteId, input.packId, input.meta);
        else this.status(input.siteId, input.status, input.arrivedAt);
      }
      await this.commit(this.partitioned ? "soft" : "hard");
    });
  }

  /**
   * Partitioned: the partition of these packs went to another worker. Their states are dropped
   * (each batch saved them), to be loaded again should the partition come back.
   */
  forget(packs: readonly StateKey[]): Promise<void> {
    return this.enqueue(async () => {
      for (const { siteId, packId } of packs) {
        this.holders.forget(siteId, packId);
        this.residency.forgetPack(siteId, packId);
      }
    });
  }

  /** Partitioned: this worker became the leader (it runs the sites' own rules and saves their states from now on), or stopped being it. */
  setLeader(leader: boolean): Promise<void> {
    return this.enqueue(async () => {
      if (leader === this.siteOwner) return;
      this.siteOwner = leader;
      this.residency.forgetSites();
      if (!leader) for (const site of this.holders.sites.values()) site.dirt = "clean";
    });
  }

  /** One sample as a batch of its own (tests, tools). */
  onSample(siteId: string, packId: string, sample: PackSample, arrivedAt = this.now()): Promise<void> {
    return this.run([{ kind: "sample", siteId, packId, sample, arrivedAt }]);
  }

  onStatus(siteId: string, status: SiteStatus, arrivedAt = this.now()): Promise<void> {
    return this.run([{ kind: "status", siteId, status, arrivedAt }]);
  }

  /** A pack's meta: its chemistry picks its rules from the next sample on. Kept in memory (the broker keeps it retained). */
  onMeta(siteId: string, packId: string, meta: PackMeta): void {
    this.holders.meta(siteId, packId, meta);
  }

  /**
   * Saves every state that changed, soft ones too (what the checkpoint timer does), and resolves
   * once it is durable. In slices of CHECKPOINT_SLICE packs, each a job of its own: a thousand
   * packs' states at once held the event loop for a few hundred milliseconds, and the samples
   * (and a case) behind them waited that long.
   */
  async checkpoint(): Promise<void> {
    let saved: number;
    do {
      saved = await this.enqueue(() => this.commit("soft", CHECKPOINT_SLICE));
      // A slice's SQLite work is synchronous, so without a turn of the event loop the next slice
      // would follow at once, and the samples that came meanwhile would wait for the whole fleet.
      await new Promise((resolve) => setImmediate(resolve));
    } while (saved >= CHECKPOINT_SLICE && !this.stopping);
  }

  /** Packs whose state this engine holds (partitioned: the packs of its partitions seen so far). */
  get packCount(): number {
    return this.holders.packs.size;
  }

  /** Resolves when every batch and timer job queued so far is done. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Stops the timers, keeps partial freeze frames (resumed after the next start) and saves every state. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.stopping = true;
    this.committer.stop();
    await this.enqueue(async () => {
      for (const pack of this.holders.packs.values()) {
        for (const lane of pack.backfill ? [pack.live, pack.backfill] : [pack.live]) {
          for (const collector of lane.frames.takeAll()) this.batch.frame(collector, false);
        }
      }
      await this.commit("soft");
    });
  }

  // ---- inputs ---------------------------------------------------------------------------------

  private sample(siteId: string, packId: string, sample: PackSample, arrivedAt: number): void {
    const site = this.holders.site(siteId);
    site.lastArrival = arrivedAt;
    site.offlineSince = null;
    site.advanceClock(sample.ts);
    site.packs.add(packId);
    site.mark("soft");
    const pack = this.holders.pack(siteId, packId);
    const resolved = this.holders.rulesFor(pack);
    // Any sample, live or late, shows the site's link is up (site-offline); only live ones count for no-data.
    this.clockRules.heard(site, arrivedAt);
    const lanes = pack.lanes;
    if (lanes.liveTs === null || sample.ts > lanes.liveTs) this.liveSample(site, pack, sample, resolved);
    else this.lateSample(pack, sample, resolved);
  }

  /** A site status (retained `bms/{siteId}/status`): the agent's clock, online/offline, its poll counters. */
  private status(siteId: string, status: SiteStatus, arrivedAt: number): void {
    const site = this.holders.site(siteId);
    site.lastArrival = arrivedAt;
    site.advanceClock(status.ts);
    site.offlineSince = status.state === "offline" ? arrivedAt : null;
    site.mark("soft");
    if (status.state === "online") this.clockRules.heard(site, arrivedAt);
    for (const device of status.agent?.devices ?? []) {
      // Partitioned: another worker holds this pack (its status reaches that worker too).
      if (this.partitioned && !this.residency.holds(siteId, device.packId)) continue;
      const pack = this.holders.pack(siteId, device.packId);
      const resolved = this.holders.rulesFor(pack);
      for (const rule of resolved.rules) {
        if (rule.kind !== "link-errors") continue;
        const slot = pack.live.slot(rule);
        const step = slot.instance.deviceStatus?.(device, status.ts);
        if (step) this.applier.apply(this.batch, packTarget(pack, pack.live, resolved), slot, step, pack.live.frames.latest());
      }
    }
    this.clockRules.checkNoData(site);
  }

  // ---- lanes: live and backfill (pack-lanes.ts) -----------------------------------------------

  /** A sample newer than the pack's newest: the live lane, which also runs the site-clock rules. */
  private liveSample(site: SiteRules, pack: PackRules, sample: PackSample, resolved: ResolvedRules): void {
    const lanes = pack.lanes;
    const prev = lanes.liveTs;
    const usual = pack.live.medianInterval();
    pack.live.addInterval(sample.ts);
    const obs = this.observe(pack, pack.live, sample, resolved);
    const step = pack.usage.add(obs, resolved.warranty);
    const rates = pack.health.add(obs, healthContext(pack, resolved));
    // Soft, like the usage history it goes with: after a crash the first live step (no usual
    // interval known yet) is a gap again, one that covers the lost one.
    recordLiveStep(lanes, prev, sample.ts, usual, step, rates);
    pack.mark("soft");
    this.evaluate(pack, pack.live, obs, resolved);
    this.clockRules.checkNoData(site);
  }

  /**
   * A sample not newer than the pack's newest: back-filled when it belongs to a gap the live lane
   * stepped over (an agent's outbox backlog after an outage), skipped when the rules saw it already.
   */
  private lateSample(pack: PackRules, sample: PackSample, resolved: ResolvedRules): void {
    const lanes = pack.lanes;
    const routing = routeLate(lanes, sample.ts);
    if (routing.closed) this.closeBackfill(pack, routing.closed, "the backlog moved on to a later gap");
    if (routing.opened) this.openBackfill(pack, lanes.backfill as Gap);
    if (!routing.accept) {
      // A redelivery or replay: the time series have it; the rules ran on it already.
      this.options.metrics.ruleSamplesSkipped.inc();
      if (routing.closed) pack.mark("hard");
      return;
    }
    const gap = lanes.backfill as Gap;
    const lane = pack.backfillLane();
    lane.addInterval(sample.ts);
    const obs = this.observe(pack, lane, sample, resolved);
    pack.usage.fill(obs, resolved.warranty, gap.from, gap.usage);
    if (gap.health) pack.health.fill(obs, healthContext(pack, resolved), gap.from, gap.health);
    gap.from = sample.ts;
    this.options.metrics.ruleSamplesBackfilled.inc();
    this.evaluate(pack, lane, obs, resolved);
    // Caught up: its last sample is one interval before the live lane's first after the gap.
    const done = caughtUp(gap, sample.ts, lane.usualInterval() ?? pack.live.usualInterval());
    if (done) {
      endBackfill(lanes);
      this.closeBackfill(pack, gap, "caught up with the live samples");
    }
    pack.mark(routing.opened || routing.closed !== null || done ? "hard" : "soft");
  }

  private openBackfill(pack: PackRules, gap: Gap): void {
    // The gap starts at a live sample: the first back-filled interval is a real one.
    pack.openBackfill(gap.from);
    this.options.log.info(
      { siteId: pack.subject.siteId, packId: pack.subject.packId, from: gap.from, to: gap.to },
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
  private closeBackfill(pack: PackRules, gap: Gap, why: string): void {
    const { siteId, packId } = pack.subject;
    const lane = pack.backfill;
    for (const slot of lane?.activeSlots() ?? []) {
      if (slot.rule.opensCase && pack.live.activeSeverity(slot.rule.id) === null) this.batch.clear(siteId, packId, slot.rule.id, gap.to);
    }
    for (const collector of lane?.frames.takeAll() ?? []) this.batch.frame(collector, true);
    pack.dropBackfill();
    pack.mark("hard");
    this.options.log.info({ siteId, packId, from: gap.from, to: gap.to }, `backfill lane closed: ${why}`);
  }

  /** The plausibility filter and freeze frames of the lane; the sample as the rules see it. */
  private observe(pack: PackRules, lane: RuleLane, sample: PackSample, resolved: ResolvedRules): PackObservation {
    const { cells, temps, implausible } = lane.plausibility.filter(sample, plausibilityLimits(resolved));
    const meta = pack.meta;
    const ratedAh = resolved.ratedCapacityAh ?? (meta && meta.ratedCapacity > 0 ? meta.ratedCapacity : resolved.settings.defaultRatedCapacityAh);
    const { siteId, packId } = pack.subject;
    const obs = new PackObservation(siteId, packId, sample, resolved.chemistry, ratedAh, resolved.settings.restCurrentC, cells, temps, implausible);
    if (implausible.length > 0) this.options.metrics.implausibleReadings.inc(implausible.length);
    for (const done of lane.frames.add(sample, resolved.settings.freezeFrameBeforeS * 1000, resolved.settings.freezeFrameMaxSamples))
      this.batch.frame(done, true);
    return obs;
  }

  /** Every rule of the pack that looks at samples, on one lane, with the lane's own rule states. */
  private evaluate(pack: PackRules, lane: RuleLane, obs: PackObservation, resolved: ResolvedRules): void {
    const explainMs = resolved.settings.explainWindowS * 1000;
    const context = { firedRecently: (ruleId: string, at: number) => lane.firedRecently(ruleId, at, explainMs), usualIntervalMs: lane.medianInterval() };
    let target: StepTarget | null = null;
    const rules = resolved.rules;
    let counts = this.evaluations.get(rules);
    if (!counts) {
      counts = new Uint32Array(rules.length);
      this.evaluations.set(rules, counts);
    }
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as AnyRule;
      // The site's clock is the live lane's: a backlog neither raises nor clears no-data.
      if (rule.kind === "no-data" && lane !== pack.live) continue;
      const slot = lane.slot(rule);
      const step = slot.instance.sample?.(obs, context);
      if (!step) continue;
      counts[i] = (counts[i] as number) + 1;
      // Most steps: nothing happened, and the rule holds no episode to end (the pack is marked soft already).
      if (step === QUIET && slot.active === null) continue;
      target ??= packTarget(pack, lane, resolved);
      this.applier.apply(this.batch, target, slot, step, obs.sample);
    }
  }

  /** The timer: sites silent (or offline) for longer than their timeout, on the ingestion's clock. */
  private async checkSites(): Promise<void> {
    if (!this.siteOwner) return;
    this.clockRules.checkSites(this.now(), this.startedAt);
    await this.commit("hard");
  }

  /**
   * Partitioned: loads the states these inputs need and this engine does not hold yet (their packs'
   * rows and open freeze frames; for the leader, their sites' rows), retrying a store that fails.
   */
  private async admit(inputs: readonly RuleInput[]): Promise<void> {
    const keys = this.residency.missing(inputs, this.siteOwner);
    if (keys.length === 0) return;
    for (;;) {
      try {
        await this.holders.load(this.options.ledger, keys);
        this.residency.loaded(keys);
        this.loadBackoff.reset();
        return;
      } catch (err) {
        if (this.stopping) throw err;
        this.options.metrics.caseStoreErrors.inc();
        const waitMs = this.loadBackoff.next();
        this.options.log.error({ err, states: keys.length, retryInMs: waitMs }, "could not load the rule states of newly taken packs; retrying (intake waits)");
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const done = this.chain.then(job);
    this.chain = done.catch((err: unknown) => {
      this.options.log.error({ err }, "rule engine job failed");
    });
    return done;
  }

  /**
   * Commits the batch with the states that changed: `hard` ones only, or `soft` ones too (at most
   * `softLimit`: checkpoints, stop); returns how many states it saved.
   */
  private async commit(level: "hard" | "soft", softLimit?: number): Promise<number> {
    for (const [rules, counts] of this.evaluations) {
      counts.forEach((count, i) => {
        if (count > 0) this.options.metrics.ruleEvaluations.inc({ rule: (rules[i] as AnyRule).id }, count);
      });
      counts.fill(0);
    }
    const batch = this.batch;
    this.batch = new RuleBatch();
    const { holders, rows } = this.holders.takeDirty(level, this.siteOwner, softLimit);
    if (batch.empty && holders.length === 0) return 0;
    let results: Awaited<ReturnType<LedgerCommitter["commit"]>>;
    try {
      results = await this.committer.commit(batch.commands, rows);
    } catch (err) {
      for (const h of holders) h.mark("hard");
      throw err;
    }
    for (const fired of batch.fired) {
      const answer = results[fired.index];
      // Only an opened or reopened case starts a freeze frame.
      if (answer?.kind !== "fire" || (answer.result.outcome !== "opened" && answer.result.outcome !== "reopened")) fired.lane.frames.drop(fired.firingKey);
    }
    batch.commands.forEach((command, i) => {
      const answer = results[i];
      if (answer) this.options.announce(command, answer);
    });
    return rows.length;
  }
}
