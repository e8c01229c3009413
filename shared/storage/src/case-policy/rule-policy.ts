import type { PackSample, SupportCase } from "@bms/shared";
import { type CasePlan, changeCase, RULES_ACTOR, touched } from "./case-plan";

/** Samples a freeze frame keeps per side. */
export const MAX_FREEZE_FRAME_SAMPLES = 10_000;

/**
 * A rule's condition cleared at `at`: the current case of (site, pack, rule) records it once and
 * stays where it is for an engineer. `seen`: this very clear (site, pack, rule, at) was applied
 * before (a batch replayed after a crash), so nothing changes, whatever happened since.
 */
export function planClear(current: SupportCase | null, at: number, seen: boolean): CasePlan | null {
  if (seen || !current || current.status === "closed" || current.clearedAt !== null) return null;
  return changeCase(current, { clearedAt: at, updatedAt: touched(current, at) }, [
    { kind: "cleared", actor: RULES_ACTOR, at, message: "The condition cleared; the case stays open for an engineer." },
  ]);
}

/** What a store knows of a freeze frame without reading its samples. */
export interface FreezeFrameState {
  /** Samples in its after-window so far. */
  afterCount: number;
  /** The ts of the last of them; null when there is none. */
  lastAfterTs: number | null;
  complete: boolean;
}

export interface FreezeFrameAppend {
  /** Samples to add at the end, oldest first. */
  append: PackSample[];
  complete: boolean;
}

/**
 * Samples for a freeze frame's after-window. Only samples newer than the last one kept are added
 * (a batch replayed after a crash adds nothing twice), up to MAX_FREEZE_FRAME_SAMPLES; a complete
 * frame takes nothing more. null: nothing to write.
 */
export function planFreezeFrameAppend(frame: FreezeFrameState, samples: readonly PackSample[], complete: boolean): FreezeFrameAppend | null {
  if (frame.complete) return null;
  const append: PackSample[] = [];
  let last = frame.lastAfterTs ?? Number.NEGATIVE_INFINITY;
  const room = Math.max(0, MAX_FREEZE_FRAME_SAMPLES - frame.afterCount);
  for (const sample of samples) {
    if (append.length >= room) break;
    if (sample.ts <= last) continue;
    append.push(sample);
    last = sample.ts;
  }
  if (append.length === 0 && !complete) return null;
  return { append, complete };
}
