import type { PackSample } from "@bms/shared";

/** The samples after a trigger, collected until the after-window ends; stored under the firing's key. */
export interface FrameCollector {
  firingKey: string;
  triggerTs: number;
  /** The window ends at this ts. */
  until: number;
  /** At most this many more samples. */
  max: number;
  samples: PackSample[];
}

/** At most `max` samples, evenly thinned, keeping the newest. */
export function thin(samples: readonly PackSample[], max: number): PackSample[] {
  if (samples.length <= max) return [...samples];
  const stride = samples.length / max;
  const out: PackSample[] = [];
  for (let i = 0; i < max; i++) out.push(samples[Math.min(samples.length - 1, Math.floor(samples.length - 1 - (max - 1 - i) * stride))] as PackSample);
  return out;
}

/**
 * One lane's freeze frames: the recent samples a trigger's "before" side is cut from, and the
 * collectors of "after" sides still open.
 */
export class FreezeFrames {
  private ring: PackSample[] = [];
  private collectors: FrameCollector[] = [];

  /** The newest sample of the lane (the evidence of a firing that has no sample of its own). */
  latest(): PackSample | null {
    return this.ring[this.ring.length - 1] ?? null;
  }

  /**
   * Keeps the sample for `keepMs` and gives it to the open collectors; returns the collectors whose
   * window it ended (taken off the lane). The ring keeps about `keepMax` samples over `keepMs`,
   * whatever the pack's rate: a sample closer than `keepMs / keepMax` to the one kept before the
   * newest replaces the newest (the newest sample is always held). At 1 Hz with the defaults
   * (120 s, 240 samples) that is every sample; a pack at 10 Hz held ten times as many before, its
   * samples then kept by the heap and thinned again by `before` anyway.
   */
  add(sample: PackSample, keepMs: number, keepMax: number): FrameCollector[] {
    const ring = this.ring;
    const n = ring.length;
    if (n >= 2 && sample.ts - (ring[n - 2] as PackSample).ts < keepMs / keepMax) ring[n - 1] = sample;
    else ring.push(sample);
    const from = sample.ts - keepMs;
    let drop = 0;
    while (drop < ring.length && (ring[drop] as PackSample).ts < from) drop++;
    if (drop > 0) ring.splice(0, drop);
    if (this.collectors.length === 0) return [];
    const done: FrameCollector[] = [];
    for (const collector of this.collectors) {
      if (sample.ts <= collector.triggerTs) continue;
      if (collector.samples.length < collector.max) collector.samples.push(sample);
      if (sample.ts >= collector.until) done.push(collector);
    }
    if (done.length > 0) this.collectors = this.collectors.filter((c) => !done.includes(c));
    return done;
  }

  /** The samples from `windowMs` before the trigger up to it, thinned to `max`. */
  before(triggerTs: number, windowMs: number, max: number): PackSample[] {
    return thin(
      this.ring.filter((s) => s.ts >= triggerTs - windowMs && s.ts <= triggerTs),
      max,
    );
  }

  start(collector: FrameCollector): void {
    this.collectors.push(collector);
  }

  /** The firing started no frame (a duplicate, an occurrence, an attachment): stop collecting for it. */
  drop(firingKey: string): void {
    this.collectors = this.collectors.filter((c) => c.firingKey !== firingKey);
  }

  /** Every open collector, taken off the lane (the lane ends, or the engine stops). */
  takeAll(): FrameCollector[] {
    return this.collectors.splice(0);
  }
}
