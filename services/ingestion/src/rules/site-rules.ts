import { SITE_PACK_ID } from "@bms/shared";
import type { SiteClockView, SiteLinkView } from "./kinds/kind-module";
import { type InvalidStateReport, RuleLane } from "./rule-lane";
import type { SiteState } from "./rule-state";

/** Site-clock steps remembered (longer than SITE_STEP_MS), for no-data. */
const SITE_STEPS_KEPT = 16;
const SITE_STEP_MS = 1000;

/** What changed in a pack's or site's state since it was last saved: soft waits for a checkpoint, hard goes with the batch. */
export type Dirt = "clean" | "soft" | "hard";

export function dirtier(a: Dirt, b: Dirt): Dirt {
  return a === "hard" || b === "hard" ? "hard" : a === "soft" || b === "soft" ? "soft" : "clean";
}

/**
 * One site as the rules see it: its own clock (the newest ts it reported), the stretches in which
 * the whole site was silent, when the ingestion last heard from it, its packs, and the site's own
 * rules (site-offline) on a lane of their own.
 */
export class SiteRules {
  /** The newest ts the site reported (samples, status): its own clock. */
  clock = 0;
  /** Recent steps of that clock longer than a second, oldest first: where the whole site was silent. */
  private readonly steps: { from: number; to: number }[] = [];
  /** When the ingestion last heard from it (its own clock). */
  lastArrival: number;
  offlineSince: number | null = null;
  lastNoDataCheck = 0;
  readonly packs = new Set<string>();
  lane: RuleLane;
  dirt: Dirt = "clean";
  /** When this process took the site's own rules on (its start, or a partitioned worker becoming the leader): site-offline waits a timeout from here. */
  adoptedAt = 0;

  constructor(
    readonly siteId: string,
    saved: SiteState | null,
    now: number,
    private readonly invalid: InvalidStateReport,
  ) {
    this.lastArrival = saved?.lastArrival ?? now;
    this.lane = new RuleLane("live", { siteId, packId: SITE_PACK_ID }, { ...(saved?.rules ?? {}) }, invalid);
  }

  /**
   * Takes on the site's saved rules (a partitioned worker that became the leader): their episodes
   * come from the row, the clock and what was heard since stay this process's own.
   */
  adopt(saved: SiteState | null, now: number): void {
    this.adoptedAt = now;
    if (!saved) return;
    this.lastArrival = Math.max(this.lastArrival, saved.lastArrival ?? 0);
    this.lane = new RuleLane("live", this.lane.subject, { ...saved.rules }, this.invalid);
  }

  /** Moves the site's clock; a step of more than a second is remembered (the whole site was silent). */
  advanceClock(ts: number): void {
    if (ts <= this.clock) return;
    if (this.clock > 0 && ts - this.clock > SITE_STEP_MS) {
      this.steps.push({ from: this.clock, to: ts });
      if (this.steps.length > SITE_STEPS_KEPT) this.steps.shift();
    }
    this.clock = ts;
  }

  /**
   * Since when a pack with its last sample at `lastTs` counts as silent while its site reported: a
   * stretch longer than the timeout in which the whole site was silent (an uplink or broker outage,
   * an ingestion restart) does not count, so the first sample after it does not make every other
   * pack of the site "silent" for the length of the outage.
   */
  silentSince(lastTs: number, timeout: number): number {
    let since = lastTs;
    for (const step of this.steps) if (step.to > since && step.to - Math.max(step.from, since) > timeout) since = step.to;
    return since;
  }

  clockView(): SiteClockView {
    return { clock: this.clock, silentSince: (lastTs, timeout) => this.silentSince(lastTs, timeout) };
  }

  linkView(startedAt: number): SiteLinkView {
    return { siteId: this.siteId, lastArrival: this.lastArrival, offlineSince: this.offlineSince, startedAt: Math.max(startedAt, this.adoptedAt) };
  }

  mark(dirt: Dirt): void {
    this.dirt = dirtier(this.dirt, dirt);
  }

  toState(): SiteState {
    return { v: 1, lastArrival: this.lastArrival, rules: this.lane.toJson() };
  }
}
