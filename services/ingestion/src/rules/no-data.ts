import type { RulesConfig } from "@bms/shared/config/ingestion-config";
import { packKey, type RuleTransition } from "./rule";

export const NO_DATA = "no-data";

interface PackSilence {
  siteId: string;
  packId: string;
  /** Arrival time of the last sample (local clock: the edge clock may be wrong or the sample back-filled). */
  lastSeenAt: number;
  lastSampleTs: number;
  active: boolean;
}

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * A pack that was seen and then sends nothing for timeoutMs. Checked on a timer by the engine;
 * clears when samples return. Only packs seen since this process started are watched.
 */
export class NoDataRule {
  readonly id = NO_DATA;
  private readonly packs = new Map<string, PackSilence>();

  constructor(private readonly config: RulesConfig["noData"]) {}

  get enabled(): boolean {
    return this.config.enabled;
  }

  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  /** A sample arrived: the pack is alive; clears an active condition. */
  onSample(siteId: string, packId: string, sampleTs: number, now: number): RuleTransition | null {
    const key = packKey(siteId, packId);
    const pack = this.packs.get(key);
    if (!pack) {
      this.packs.set(key, { siteId, packId, lastSeenAt: now, lastSampleTs: sampleTs, active: false });
      return null;
    }
    pack.lastSeenAt = now;
    pack.lastSampleTs = sampleTs;
    if (!pack.active) return null;
    pack.active = false;
    return { type: "cleared", siteId, packId, ruleId: NO_DATA, at: now };
  }

  /** The timer's check: fires once per silent pack. */
  check(now: number): RuleTransition[] {
    const fired: RuleTransition[] = [];
    for (const pack of this.packs.values()) {
      const silentMs = now - pack.lastSeenAt;
      if (pack.active || silentMs < this.config.timeoutMs) continue;
      pack.active = true;
      fired.push({
        type: "fired",
        siteId: pack.siteId,
        packId: pack.packId,
        ruleId: NO_DATA,
        severity: this.config.severity,
        title: "No data from pack",
        evidence: {
          sample: null,
          value: silentMs,
          threshold: this.config.timeoutMs,
          index: null,
          detail: `No sample for ${duration(silentMs)} (limit ${duration(this.config.timeoutMs)}); the last one was taken at ${new Date(pack.lastSampleTs).toISOString()}.`,
        },
        at: now,
      });
    }
    return fired;
  }

  reset(siteId: string, packId: string): void {
    const pack = this.packs.get(packKey(siteId, packId));
    if (pack) pack.active = false;
  }
}
