import type { PackMeta } from "@bms/shared";
import { PackHealth } from "../warranty/pack-health";
import { UsageHistory } from "../warranty/usage-history";
import type { RuleSubject } from "./kinds/kind-module";
import { type LanesState, newLanesState } from "./pack-lanes";
import type { ResolvedRules } from "./rule-book";
import { type InvalidStateReport, RuleLane } from "./rule-lane";
import type { PackState } from "./rule-state";
import { type Dirt, dirtier } from "./site-rules";

/**
 * One pack as the rules see it: its meta, its two lanes (live, and backfill while a gap of its
 * stream is back-filled), the lanes' bookkeeping, the warranty usage history and the pack's
 * health (stress, throughput, SOH). Saved as one row.
 */
export class PackRules {
  meta: PackMeta | null = null;
  /** The pack's resolved rules and the meta they were resolved for (RuleHolders.rulesFor). */
  resolved: { meta: PackMeta | null; rules: ResolvedRules } | null = null;
  readonly lanes: LanesState;
  readonly usage: UsageHistory;
  readonly health: PackHealth;
  readonly live: RuleLane;
  backfill: RuleLane | null = null;
  dirt: Dirt = "clean";
  private savedBackfill: PackState["backfill"];

  constructor(
    readonly subject: RuleSubject,
    saved: PackState | null,
    private readonly invalid: InvalidStateReport,
  ) {
    this.lanes = saved?.lanes ?? newLanesState();
    this.usage = new UsageHistory(saved?.usage);
    this.health = new PackHealth(saved?.health, (problem) => invalid("health", problem));
    this.live = new RuleLane("live", subject, { ...(saved?.live ?? {}) }, invalid);
    this.savedBackfill = saved?.backfill;
  }

  /** The backfill lane (made on first use, e.g. after a restart mid-backlog, from what was saved). */
  backfillLane(): RuleLane {
    if (!this.backfill) {
      this.backfill = new RuleLane("backfill", this.subject, { ...(this.savedBackfill ?? {}) }, this.invalid);
      this.savedBackfill = undefined;
    }
    return this.backfill;
  }

  /** Opens a fresh backfill lane whose first interval starts at `from`. */
  openBackfill(from: number): RuleLane {
    this.dropBackfill();
    const lane = this.backfillLane();
    lane.prevTs = from;
    return lane;
  }

  /** Forgets the backfill lane and its rule states. */
  dropBackfill(): void {
    this.backfill = null;
    this.savedBackfill = undefined;
  }

  mark(dirt: Dirt): void {
    this.dirt = dirtier(this.dirt, dirt);
  }

  toState(): PackState {
    const backfill = this.backfill?.toJson() ?? this.savedBackfill;
    return { v: 1, lanes: this.lanes, usage: this.usage.saved, health: this.health.state, live: this.live.toJson(), ...(backfill ? { backfill } : {}) };
  }
}
