import type { CaseEvidence, PackSample, Severity } from "@bms/shared";

/** A rule's condition started to hold: open a case or count one more occurrence on the open one. */
export interface RuleFired {
  type: "fired";
  siteId: string;
  packId: string;
  ruleId: string;
  severity: Severity;
  title: string;
  /** Everything but the pack meta, which the engine adds. */
  evidence: Omit<CaseEvidence, "meta">;
  /** ms: the triggering sample's ts, or the time of the check. */
  at: number;
}

/** A rule's condition stopped holding: mark the case cleared. */
export interface RuleCleared {
  type: "cleared";
  siteId: string;
  packId: string;
  ruleId: string;
  at: number;
}

export type RuleTransition = RuleFired | RuleCleared;

/** A rule evaluated on every valid sample, in arrival order, with its own state per pack. */
export interface SampleRule {
  readonly id: string;
  readonly enabled: boolean;
  /** Returns a transition only when the condition starts or stops holding, never on repeats. */
  evaluate(siteId: string, packId: string, sample: PackSample): RuleTransition | null;
  /** Forgets the pack's state (e.g. after the case store failed), so the condition can fire again. */
  reset(siteId: string, packId: string): void;
}

export function packKey(siteId: string, packId: string): string {
  return `${siteId}/${packId}`;
}
