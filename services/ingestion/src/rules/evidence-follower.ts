import type { EvidenceFollowUp } from "@bms/shared";
import type { Reading } from "./rule-step";

/** A worse value reaches the case at most this often while the condition holds. */
export const FOLLOW_WORSE_EVERY_MS = 10_000;
/** And the held span (with the warranty assessment re-run) at least this often. */
export const FOLLOW_EVERY_MS = 60_000;

/** Per slot, in memory only (after a restart the first held sample sends at once; the store keeps the worst). */
export interface FollowState {
  /** The worst reading since the last follow-up was sent. */
  pending: (Reading & { at: number }) | null;
  /** The worst value sent so far (null: none yet in this process). */
  sentWorst: number | null;
  lastSentAt: number;
  /** The last sample the condition held at. */
  lastHeldAt: number;
}

/** The episode being followed, as the rule's slot holds it (rule-lane.ts). */
export interface FollowedSlot {
  follow?: FollowState | undefined;
  /** When the episode's condition started. */
  since?: number | undefined;
}

/** A follow-up to send: the step applier puts it in the batch as a `follow` command. */
export interface FollowUpOut {
  at: number;
  followUp: EvidenceFollowUp;
}

const isWorse = (direction: Reading["direction"], than: number | null, value: number) => than === null || (direction === "above" ? value > than : value < than);

/**
 * While a rule's episode holds after it opened a case, the case's evidence follows it: the worst
 * value and how long it has held (evidence.followUp), and the warranty assessment re-run on the
 * pack's usage since. Not per sample: a follow-up goes out when the value got worse (at most every
 * FOLLOW_WORSE_EVERY_MS), at least every FOLLOW_EVERY_MS, and once more as the episode ends.
 */
export class EvidenceFollower {
  /** An episode opened a case with `reading` (its trigger's value) at `at`. */
  start(slot: FollowedSlot, value: number | null, at: number): void {
    slot.follow = { pending: null, sentWorst: value, lastSentAt: at, lastHeldAt: at };
  }

  /** A sample at `at` in which the episode holds. */
  held(slot: FollowedSlot, reading: Reading, at: number): FollowUpOut | null {
    slot.follow ??= { pending: null, sentWorst: null, lastSentAt: Number.NEGATIVE_INFINITY, lastHeldAt: at };
    const follow = slot.follow;
    follow.lastHeldAt = Math.max(follow.lastHeldAt, at);
    if (follow.pending === null || isWorse(reading.direction, follow.pending.value, reading.value)) follow.pending = { ...reading, at };
    const since = at - follow.lastSentAt;
    const worse = isWorse(follow.pending.direction, follow.sentWorst, follow.pending.value);
    return since >= FOLLOW_EVERY_MS || (worse && since >= FOLLOW_WORSE_EVERY_MS) ? this.send(slot, follow, at) : null;
  }

  /** The episode ended: what was not sent yet goes to the case before its clear. */
  end(slot: FollowedSlot): FollowUpOut | null {
    const follow = slot.follow;
    slot.follow = undefined;
    return follow && follow.lastHeldAt > follow.lastSentAt ? this.send(slot, follow, follow.lastHeldAt) : null;
  }

  private send(slot: FollowedSlot, follow: FollowState, at: number): FollowUpOut | null {
    const worst = follow.pending;
    if (worst === null) return null;
    const followUp: EvidenceFollowUp = {
      direction: worst.direction,
      worstValue: worst.value,
      worstIndex: worst.index,
      worstAt: worst.at,
      worstDetail: worst.detail,
      heldSince: Math.min(slot.since ?? follow.lastHeldAt, follow.lastHeldAt),
      heldUntil: follow.lastHeldAt,
    };
    if (isWorse(worst.direction, follow.sentWorst, worst.value)) follow.sentWorst = worst.value;
    follow.pending = null;
    follow.lastSentAt = at;
    return { at, followUp };
  }
}
