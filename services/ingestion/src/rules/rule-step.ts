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

/** The value a rule watches, as it is in this input: what an active episode's evidence follows (evidence-follower.ts). */
export interface Reading {
  value: number;
  /** The cell or sensor, from 0. */
  index: number | null;
  /** The value in words, numbered from 1 ("Sensor 4 at 80 °C"). */
  detail: string;
  /** `above`: higher is worse. */
  direction: "above" | "below";
}

/** What a rule's evaluation of one input changed. */
export interface RuleStep {
  triggers: Trigger[];
  /** The watched value in this input, from kinds that have one (threshold, cell-spread); absent when the rule cannot see it. */
  reading?: Reading;
  /** Whether any level of the rule holds after this input. */
  active: boolean;
  /** The saved state changed in a way a restart must not lose (a condition started, fired or cleared). */
  hard: boolean;
}

export const QUIET: RuleStep = Object.freeze({ triggers: [], active: false, hard: false }) as RuleStep;

const STEADY: readonly RuleStep[] = [
  QUIET,
  Object.freeze({ triggers: [], active: true, hard: false }) as RuleStep,
  Object.freeze({ triggers: [], active: false, hard: true }) as RuleStep,
  Object.freeze({ triggers: [], active: true, hard: true }) as RuleStep,
];

/** A step that fired nothing (most of them, for every rule and sample): shared and frozen, not made anew. */
export function steady(active: boolean, hard: boolean): RuleStep {
  return STEADY[(active ? 1 : 0) + (hard ? 2 : 0)] as RuleStep;
}

/** The step of an evaluation: a shared one when nothing fired. */
export function stepOf(triggers: Trigger[], active: boolean, hard: boolean): RuleStep {
  return triggers.length === 0 ? steady(active, hard) : { triggers, active, hard };
}

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

/**
 * A condition that must hold for a while, over enough samples, before it counts (threshold levels,
 * sensor faults, a cell's own heat): since when it holds (`p`) and over how many samples (`n`).
 */
export interface Hold {
  p?: number | undefined;
  n: number;
}

/** The condition holds at `ts`: counts the sample, starting the hold if it was not. True when the hold started (a change a restart must not lose). */
export function holdOn(hold: Hold, ts: number): boolean {
  const started = hold.p === undefined;
  if (started) {
    hold.p = ts;
    hold.n = 0;
  }
  hold.n++;
  return started;
}

/** The condition does not hold: forgets the hold. True when there was one. */
export function holdOff(hold: Hold): boolean {
  if (hold.p === undefined) return false;
  hold.p = undefined;
  hold.n = 0;
  return true;
}

/** The hold has lasted `holdMs` over at least `minSamples` samples by `ts`. */
export function heldLongEnough(hold: Hold, ts: number, holdMs: number, minSamples: number): boolean {
  return hold.p !== undefined && ts - hold.p >= holdMs && hold.n >= minSamples;
}
