import type { CaseEvidence, Logger, PackMeta, PackSample } from "@bms/shared";
import type { RulesConfig } from "@bms/shared/config/ingestion-config";
import type { IngestionMetrics } from "../ingestion-metrics";
import { createCellOverVoltageRule } from "./cell-over-voltage";
import { NoDataRule } from "./no-data";
import { createOverTemperatureRule } from "./over-temperature";
import { packKey, type RuleCleared, type RuleFired, type RuleTransition, type SampleRule } from "./rule";

/** A transition with the pack's last meta added to the evidence: what the case store gets. */
export type CaseTransition = (Omit<RuleFired, "evidence"> & { evidence: CaseEvidence }) | RuleCleared;

/** Applies a transition to the case store (and publishes the case event); rejects on failure. */
export type CaseTransitionSink = (transition: CaseTransition) => Promise<void>;

/**
 * Runs the rules on every valid sample in arrival order. Rule state changes synchronously (so
 * the order is the arrival order); the case-store calls that follow run one after another on a
 * chain, so that a slow store never reorders open and clear of one case.
 */
export class RuleEngine {
  private readonly sampleRules: SampleRule[];
  private readonly noData: NoDataRule;
  private readonly metas = new Map<string, PackMeta>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    config: RulesConfig,
    private readonly sink: CaseTransitionSink,
    private readonly metrics: IngestionMetrics,
    private readonly log: Logger,
  ) {
    this.sampleRules = [createCellOverVoltageRule(config.cellOverVoltage), createOverTemperatureRule(config.overTemperature)].filter((r) => r.enabled);
    this.noData = new NoDataRule(config.noData);
  }

  /** Starts the no-data timer. */
  start(): void {
    if (!this.noData.enabled || this.timer) return;
    const period = Math.min(1000, Math.max(50, Math.floor(this.noData.timeoutMs / 4)));
    this.timer = setInterval(() => this.checkNoData(Date.now()), period);
    this.timer.unref();
  }

  onMeta(siteId: string, packId: string, meta: PackMeta): void {
    this.metas.set(packKey(siteId, packId), meta);
  }

  onSample(siteId: string, packId: string, sample: PackSample, now = Date.now()): void {
    for (const rule of this.sampleRules) {
      this.metrics.ruleEvaluations.inc({ rule: rule.id });
      const transition = rule.evaluate(siteId, packId, sample);
      if (transition) this.enqueue(transition, () => rule.reset(siteId, packId));
    }
    if (this.noData.enabled) {
      this.metrics.ruleEvaluations.inc({ rule: this.noData.id });
      const transition = this.noData.onSample(siteId, packId, sample.ts, now);
      if (transition) this.enqueue(transition, () => this.noData.reset(siteId, packId));
    }
  }

  checkNoData(now: number): void {
    for (const transition of this.noData.check(now)) {
      this.enqueue(transition, () => this.noData.reset(transition.siteId, transition.packId));
    }
  }

  /** Resolves when every case-store call queued so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private enqueue(transition: RuleTransition, onFailure: () => void): void {
    const full: CaseTransition =
      transition.type === "fired"
        ? { ...transition, evidence: { ...transition.evidence, meta: this.metas.get(packKey(transition.siteId, transition.packId)) ?? null } }
        : transition;
    this.chain = this.chain.then(async () => {
      try {
        await this.sink(full);
      } catch (err) {
        // The rule forgets its state so that the condition, if it persists, fires again later.
        onFailure();
        this.metrics.caseStoreErrors.inc();
        this.log.error(
          { err, siteId: full.siteId, packId: full.packId, ruleId: full.ruleId },
          `could not record the case ${full.type === "fired" ? "opening" : "clearing"}; the rule will fire again if the condition persists`,
        );
      }
    });
  }
}
