import type { EvidenceFollowUp, PackSample, SupportCase, WarrantyAssessment } from "@bms/shared";
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

/** `b` is worse than `a` in `direction` (a tie is not: the first time a value was seen stays). */
function worse(direction: EvidenceFollowUp["direction"], a: number, b: number): boolean {
  return direction === "above" ? b > a : b < a;
}

/**
 * The condition of a case still holds: its evidence follows it. The worse of the known and the new
 * worst value wins (with its cell or sensor, time and words), the held span only grows, and a
 * warranty assessment re-run later replaces the earlier one. Merging is idempotent, so a replayed
 * batch changes nothing twice. null: no case to follow (none, closed) or nothing changes.
 */
export function planFollowUp(current: SupportCase | null, incoming: EvidenceFollowUp, warranty: WarrantyAssessment | null, at: number): CasePlan | null {
  if (!current || current.status === "closed") return null;
  const known = current.evidence.followUp;
  const takeWorst = known === undefined || known.direction !== incoming.direction || worse(known.direction, known.worstValue, incoming.worstValue);
  const worst = takeWorst ? incoming : known;
  const followUp: EvidenceFollowUp = {
    direction: worst.direction,
    worstValue: worst.worstValue,
    worstIndex: worst.worstIndex,
    worstAt: worst.worstAt,
    worstDetail: worst.worstDetail,
    heldSince: known === undefined ? incoming.heldSince : Math.min(known.heldSince, incoming.heldSince),
    heldUntil: known === undefined ? incoming.heldUntil : Math.max(known.heldUntil, incoming.heldUntil),
  };
  const newerWarranty = warranty !== null && (current.warranty === null || warranty.assessedAt > current.warranty.assessedAt);
  const sameFollowUp = known !== undefined && (Object.keys(followUp) as (keyof EvidenceFollowUp)[]).every((k) => followUp[k] === known[k]);
  if (sameFollowUp && !newerWarranty) return null;
  const changes = {
    evidence: { ...current.evidence, followUp },
    warranty: newerWarranty ? warranty : current.warranty,
    updatedAt: touched(current, at),
  };
  return changeCase(current, changes, []);
}
