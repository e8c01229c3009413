import { compiledCheck, median, PackSample } from "@bms/shared";
import type { PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import type { DecodedSample } from "./readers/device-reader";

/** One reading the filter kept out, or holds under suspicion. */
export interface Flag {
  /** Outside physical bounds, far from the pack's other cells, or a jump from the last sample. */
  kind: "bounds" | "outlier" | "jump";
  field: string;
  /** Cell or sensor position, for arrays. */
  index?: number;
  value: unknown;
  reason: string;
}

/** A validated sample before it gets its sequence number. */
export type CheckedSample = PackSample;

export interface FilterVerdict {
  /** Samples to publish now, oldest first: this one, or held ones whose suspect readings persisted. */
  release: CheckedSample[];
  /** Readings kept out for good: counted as implausible. */
  dropped: Flag[];
  /** Readings under suspicion: their sample is held until they persist or turn out a glitch. */
  suspect: Flag[];
  /** Suspect readings that persisted for confirmPolls polls: believed, their samples released. */
  confirmed: Flag[];
  /** Set when the sample as a whole is impossible (a required value outside physical bounds). */
  rejected?: string;
}

/** Fields a sample may lack (optional in PackSample): an impossible value there is left out and the rest is published. */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(
  Object.entries(PackSample.shape).flatMap(([field, schema]) => (schema.safeParse(undefined).success ? [field] : [])),
);

/** Below this median the pack is not a charged lithium battery (or reads nonsense): no outlier test. */
const MIN_MEDIAN_CELL_V = 1.5;

const acceptsSample = compiledCheck(PackSample);

const fmt = (n: number) => Number(n.toFixed(3));

/**
 * Keeps physically impossible readings out of the samples that rules see (dbus-serialbattery #1046:
 * a cell reading 0 V or 65 V once raised alarms), without hiding a real fault:
 *
 * 1. A value outside the PackSample bounds (a 65 V cell, SOH 250 %) is impossible: an optional
 *    field is left out of the sample, a required one (a cell, the pack voltage) makes the whole
 *    sample impossible. Counted, never published.
 * 2. A reading that contradicts its context is suspect: a cell far from the median of the pack
 *    (0 V among 3.3 V neighbours), or a jump from the last accepted sample that no battery makes in
 *    one poll (cell voltage, temperature, SOC, pack voltage). Its sample is held. If the next poll
 *    agrees with the last accepted sample again, the held ones were a glitch: dropped and counted.
 *    If the suspicion persists for `confirmPolls` polls, it is real (an open sense wire, a relay):
 *    the held samples are released in order with their own timestamps, none lost.
 */
export class PlausibilityFilter {
  private baseline: CheckedSample | undefined;
  private held: { sample: CheckedSample; suspects: Flag[] }[] = [];
  /** Cells believed to sit far from the median (confirmed): no longer suspect until they return. */
  private readonly knownOutliers = new Set<number>();

  /** @param maxBaselineAgeMs jumps are only judged against a sample at most this old (a device back from an outage starts afresh) */
  constructor(
    private readonly config: PlausibilityConfig,
    private readonly maxBaselineAgeMs: number,
  ) {}

  /** Samples held under suspicion. */
  get heldCount(): number {
    return this.held.length;
  }

  check(decoded: DecodedSample): FilterVerdict {
    const verdict: FilterVerdict = { release: [], dropped: [], suspect: [], confirmed: [] };
    const sample = this.withinBounds(decoded, verdict);
    if (!sample) return verdict;
    if (!this.config.enabled) {
      verdict.release.push(sample);
      return verdict;
    }
    const suspects = this.suspects(sample);
    if (suspects.length === 0) {
      // Back in line with the last accepted sample: whatever was held was a glitch.
      for (const h of this.held) verdict.dropped.push(...h.suspects);
      this.held = [];
      this.baseline = sample;
      verdict.release.push(sample);
      return verdict;
    }
    this.held.push({ sample, suspects });
    if (this.held.length < this.config.confirmPolls) {
      verdict.suspect.push(...suspects);
      return verdict;
    }
    for (const h of this.held) {
      verdict.confirmed.push(...h.suspects);
      verdict.release.push(h.sample);
    }
    for (const flag of suspects) if (flag.kind === "outlier" && flag.index !== undefined) this.knownOutliers.add(flag.index);
    this.baseline = sample;
    this.held = [];
    return verdict;
  }

  /** Forgets held samples (shutdown, or the device went away): they are returned as dropped flags. */
  discardHeld(): Flag[] {
    const flags = this.held.flatMap((h) => h.suspects);
    this.held = [];
    return flags;
  }

  private withinBounds(decoded: DecodedSample, verdict: FilterVerdict): CheckedSample | undefined {
    // Nearly every sample is within bounds: the compiled check passes it as it is, zod says why not.
    if (acceptsSample(decoded)) return decoded;
    let parsed = PackSample.safeParse(decoded);
    if (!parsed.success) {
      // Only here is a copy needed: the impossible optional fields are taken out of it.
      const candidate: Record<string, unknown> = { ...decoded };
      const required: string[] = [];
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? "(sample)");
        const index = typeof issue.path[1] === "number" ? issue.path[1] : undefined;
        const value = index === undefined ? candidate[field] : (candidate[field] as unknown[] | undefined)?.[index];
        const where = `${field}${index === undefined ? "" : `.${index}`}`;
        verdict.dropped.push({ kind: "bounds", field, ...(index === undefined ? {} : { index }), value, reason: `${where}: ${issue.message}` });
        if (OPTIONAL_FIELDS.has(field)) delete candidate[field];
        else required.push(`${where}: ${issue.message}`);
      }
      if (required.length > 0) {
        verdict.rejected = `implausible sample: ${required.slice(0, 5).join("; ")}`;
        return undefined;
      }
      parsed = PackSample.safeParse(candidate);
      if (!parsed.success) {
        verdict.rejected = `implausible sample: ${parsed.error.issues[0]?.message ?? "does not validate"}`;
        return undefined;
      }
    }
    return parsed.data;
  }

  private suspects(sample: CheckedSample): Flag[] {
    const c = this.config;
    const flags: Flag[] = [];
    const cells = sample.cellVoltages;
    const mid = cells.length >= 3 ? (median(cells) ?? undefined) : undefined;
    if (mid !== undefined && mid >= MIN_MEDIAN_CELL_V) {
      for (let i = 0; i < cells.length; i++) {
        const v = cells[i] ?? mid;
        if (Math.abs(v - mid) <= c.cellOutlierV) this.knownOutliers.delete(i);
        else if (!this.knownOutliers.has(i))
          flags.push({
            kind: "outlier",
            field: "cellVoltages",
            index: i,
            value: v,
            reason: `cell ${i + 1} at ${v} V is ${fmt(Math.abs(v - mid))} V from the median ${fmt(mid)} V`,
          });
      }
    }
    const base = this.baseline;
    if (!base || sample.ts - base.ts > this.maxBaselineAgeMs || sample.ts < base.ts) return flags;
    if (cells.length === base.cellVoltages.length) {
      for (let i = 0; i < cells.length; i++) {
        const v = cells[i] ?? 0;
        const before = base.cellVoltages[i] ?? v;
        if (Math.abs(v - before) <= c.cellStepV) continue;
        // A cell that jumps back in line with its neighbours (a sense wire reconnected) is no glitch.
        if (mid !== undefined && Math.abs(v - mid) <= c.cellStepV) continue;
        addJump(flags, "cellVoltages", v, before, "V", i);
      }
    }
    const temperatures = sample.cellTemperatures;
    if (temperatures.length === base.cellTemperatures.length) {
      for (let i = 0; i < temperatures.length; i++) {
        const t = temperatures[i] ?? 0;
        const before = base.cellTemperatures[i] ?? t;
        if (Math.abs(t - before) > c.temperatureStepC) addJump(flags, "cellTemperatures", t, before, "°C", i);
      }
    }
    if (Math.abs(sample.soc - base.soc) > c.socStepPct) addJump(flags, "soc", sample.soc, base.soc, "%");
    const packVoltageStep = c.packVoltageStep * base.packVoltage;
    if (base.packVoltage > 1 && Math.abs(sample.packVoltage - base.packVoltage) > packVoltageStep)
      addJump(flags, "packVoltage", sample.packVoltage, base.packVoltage, "V");
    return flags;
  }
}

/** Flags a jump once per reading (a cell already flagged as an outlier is not flagged again). */
function addJump(flags: Flag[], field: string, now: number, before: number, unit: string, index?: number): void {
  if (flags.some((f) => f.field === field && f.index === index)) return;
  const where = index === undefined ? field : `${field}.${index}`;
  flags.push({
    kind: "jump",
    field,
    ...(index === undefined ? {} : { index }),
    value: now,
    reason: `${where} jumped from ${before} to ${now} ${unit} in one poll`,
  });
}
