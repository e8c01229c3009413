import { z } from "zod";
import { HealthFill, type SampleRates } from "../warranty/stress-tally";
import { newUsageFill, UsageFill, type UsageStep } from "../warranty/usage-history";

/**
 * The two lanes of one pack's samples, as the rules see them. An edge agent back from an outage
 * sends what it reads now (the live lane) and, in the rest of its window, its outbox backlog with
 * the original `ts`, oldest first (edge-agent/src/outbox-publisher.ts). Each lane is in order; the
 * two together are not. The live lane takes every sample newer than its latest. A late sample
 * belongs to a gap the live lane stepped over (the outage): it goes to the backfill lane, which
 * fills one gap at a time with rule state of its own. Anything else late is a sample the rules
 * have seen already (a redelivery, a replay): skipped.
 */

/** Gaps remembered per pack: enough for a few outages in a row while a backlog drains. */
export const MAX_GAPS = 8;

/** A stretch the live lane stepped over, where back-filled samples may come. */
export const Gap = z.object({
  /** The live sample before the gap; in the backfill lane, the newest sample back-filled so far. */
  from: z.number(),
  /** The live lane's first sample after the gap: where the backfill catches up. */
  to: z.number(),
  /** What the usage history needs to count the gap's samples in their place. */
  usage: UsageFill,
  /** What the stress tally needs for the same (absent in gaps saved before it was kept). */
  health: HealthFill.optional(),
});
export type Gap = z.infer<typeof Gap>;

/** What is saved per pack, in its state row. */
export const LanesState = z.object({
  /** The live lane's newest ts. */
  liveTs: z.number().nullable(),
  /**
   * Samples the live lane took: each new sample once, however often it was delivered (a replay is
   * skipped), so it matches what the pack sent once the stream is in order. Saved with every batch
   * in partitioned mode, at checkpoints otherwise.
   */
  liveCount: z.number().int().min(0).default(0),
  /** Gaps not back-filled yet, oldest first. */
  gaps: z.array(Gap).max(MAX_GAPS),
  /** The gap the backfill lane is filling. */
  backfill: Gap.nullable(),
});
export type LanesState = z.infer<typeof LanesState>;

/** A live step longer than this many usual intervals is a gap where a backlog may come. */
const GAP_FACTOR = 1.5;

export function newLanesState(): LanesState {
  return { liveTs: null, liveCount: 0, gaps: [], backfill: null };
}

/** A live sample's step from `prev`: remembered as a gap when it is longer than usual (or the usual is not known yet). */
export function recordLiveStep(
  state: LanesState,
  prev: number | null,
  ts: number,
  usual: number | null,
  usage: UsageStep | null,
  health: SampleRates | null,
): boolean {
  state.liveTs = ts;
  state.liveCount++;
  if (prev === null || usage === null) return false;
  if (usual !== null && ts - prev <= GAP_FACTOR * usual) return false;
  state.gaps.push({ from: prev, to: ts, usage: newUsageFill(usage), ...(health ? { health: { next: health } } : {}) });
  if (state.gaps.length > MAX_GAPS) state.gaps.splice(0, state.gaps.length - MAX_GAPS);
  return true;
}

/** Where a sample older than the live lane's newest goes. */
export interface LateRouting {
  /** Run it through the backfill lane (opened for it when `opened`). */
  accept: boolean;
  opened: boolean;
  /** The backfill lane that this sample shows is over (the backlog has moved on to a later gap). */
  closed: Gap | null;
}

/**
 * Routes a late sample (ts ≤ the live lane's newest) and updates the lanes: it continues the
 * backfill lane, or moves it on to a later gap (several outages in a row while a backlog drains),
 * or is a sample the rules saw already.
 */
export function routeLate(state: LanesState, ts: number): LateRouting {
  const current = state.backfill;
  if (current && ts <= current.from) return { accept: false, opened: false, closed: null }; // a replay of the backlog
  if (current && ts < current.to) return { accept: true, opened: false, closed: null };
  const index = state.gaps.findIndex((g) => g.from < ts && ts < g.to);
  // Not in a gap: a replay of live samples (it says nothing about where the backlog is).
  if (index < 0) return { accept: false, opened: false, closed: null };
  // In a later gap: the backlog is oldest first, so it is done with the lane's gap and the older ones.
  const gap = state.gaps[index] as Gap;
  state.gaps.splice(0, index + 1);
  state.backfill = gap;
  return { accept: true, opened: true, closed: current };
}

/**
 * After a back-filled sample at `ts`: true when it is the gap's last (the live lane's first sample
 * after the gap is within one usual interval), i.e. the backfill has caught up.
 */
export function caughtUp(gap: Gap, ts: number, usual: number | null): boolean {
  return usual !== null && gap.to - ts <= GAP_FACTOR * usual;
}

/**
 * Ends the backfill lane once it caught up. What is left of its gap stays a gap (a straggler in it
 * is still back-filled, by a fresh lane), so ending early loses nothing.
 */
export function endBackfill(state: LanesState): Gap | null {
  const gap = state.backfill;
  if (!gap) return null;
  state.backfill = null;
  if (gap.to - gap.from > 0) {
    state.gaps.push(gap);
    state.gaps.sort((a, b) => a.from - b.from);
    if (state.gaps.length > MAX_GAPS) state.gaps.splice(0, state.gaps.length - MAX_GAPS);
  }
  return gap;
}
