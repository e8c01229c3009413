import type { BmsAlarmCode, Severity } from "@bms/shared";

/** A level of a rule started to hold: what the engine turns into a case firing. */
export interface Trigger {
  severity: Severity;
  /** When the condition started to hold: with the level, the episode's idempotency key. */
  since: number;
  /** ms: the triggering sample's ts, or the time of the check. */
  at: number;
  value: number | null;
  threshold: number | null;
  index: number | null;
  /** One sentence a person can read. */
  detail: string;
  /** The BMS codes this firing is about (bms-alarm); by default, the ones in the triggering sample. */
  codes?: BmsAlarmCode[];
  /** Per-trigger explainers (bms-alarm: per code), instead of the rule's. */
  explainedBy?: readonly string[];
  /** Part of the firing key besides the level (bms-alarm: the code). */
  keyPart?: string;
  /** Each trigger is its own occurrence (bms-alarm codes), never an escalation of the last. */
  independent?: boolean;
}

/** What a rule's evaluation of one input changed. */
export interface RuleStep {
  triggers: Trigger[];
  /** Whether any level of the rule holds after this input. */
  active: boolean;
  /** The saved state changed in a way a restart must not lose (a condition started, fired or cleared). */
  hard: boolean;
}

export const QUIET: RuleStep = Object.freeze({ triggers: [], active: false, hard: false }) as RuleStep;

/** Lets a rule ask about the others on the same pack. */
export interface RuleContext {
  /** The rule is active on this pack, or fired within the explain window before `at`. */
  firedRecently(ruleId: string, at: number): boolean;
}

/** Seconds, for sentences. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 100 ? `${Math.round(s * 10) / 10} s` : `${Math.round(s)} s`;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
