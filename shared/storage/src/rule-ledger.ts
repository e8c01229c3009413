import type { EvidenceFollowUp, PackSample, SupportCase, WarrantyAssessment } from "@bms/shared";
import type { FiringInput, FiringResult, OpenFreezeFrame } from "./case-store";
import type { RuleStateRow } from "./rule-state-store";

/** One change the rules made, applied in order within a batch. */
export type RuleCommand =
  /** As recordFiring. */
  | { kind: "fire"; firing: FiringInput }
  /** As markCleared. */
  | { kind: "clear"; siteId: string; packId: string; ruleId: string; at: number }
  /**
   * Appends to the freeze frame the firing with this key started; a no-op when that firing started
   * none (duplicate, attached, occurrence) or the frame is complete.
   */
  | { kind: "freeze-frame"; firingKey: string; after: readonly PackSample[]; complete: boolean }
  /**
   * The condition of the current case of (site, pack, rule) still holds: merges `followUp` into its
   * evidence (planFollowUp: the worse value wins, the held span only grows) and replaces its
   * warranty assessment with `warranty`, re-run now, when that is newer. `at`: the sample's ts.
   */
  | { kind: "follow"; siteId: string; packId: string; ruleId: string; at: number; followUp: EvidenceFollowUp; warranty: WarrantyAssessment | null };

export type RuleCommandResult =
  | { kind: "fire"; result: FiringResult }
  /** The case marked cleared; null when there was none, it was cleared already, or this clear was applied before. */
  | { kind: "clear"; case: SupportCase | null }
  /** The case of the frame; null when the firing started no frame. */
  | { kind: "freeze-frame"; caseId: string | null }
  /** The case as it is after the follow-up; null when there was no such case or nothing changed (a replay). */
  | { kind: "follow"; case: SupportCase | null };

/** The engine's whole state of one pack (or of a site: packId "_site"), JSON; null deletes. The store does not interpret it. */
export interface PackStateRow {
  siteId: string;
  packId: string;
  state: unknown;
}

/**
 * The rule engine's batch commit: a batch's firings, clears, freeze-frame samples, follow-ups and the pack
 * states after it, in one transaction. Every implementation runs test/rule-ledger.conformance.ts.
 */
export interface RuleLedger {
  /**
   * Applies the commands in order and upserts/deletes the pack states, all in ONE transaction: all
   * or nothing (a command that fails validation, or a failure while writing, leaves the store as it
   * was, states included). Replaying the same batch after a crash changes nothing twice: firings
   * by their key, clears by (site, pack, rule, at), freeze-frame samples by their ts, follow-ups by merging.
   */
  commit(commands: readonly RuleCommand[], states: readonly PackStateRow[]): Promise<RuleCommandResult[]>;
  /** Every saved pack state; with `packs`, only those (a worker taking over partitions loads its packs). */
  loadStates(packs?: readonly { siteId: string; packId: string }[]): Promise<PackStateRow[]>;
  /** Freeze frames whose after-window is still open, with the firingKey that started them. */
  openFreezeFrames(): Promise<(OpenFreezeFrame & { firingKey: string })[]>;
}

/**
 * Rule state as the per-rule RuleStateStore saved it (table `rule_state` of cases.db, rows keyed
 * site/pack/rule, with keys like `_lanes`, `_usage`, `rule@backfill`): for a one-time conversion
 * to pack states. SQLite only; a PostgreSQL store starts with pack states.
 */
export interface LegacyRuleStates {
  /** The old rows as they are; empty when there are none (or the file never had the table). */
  loadLegacyRuleStates(): Promise<RuleStateRow[]>;
  /**
   * Converts the old rows with `convert` (synchronous, pure) and, in one transaction, upserts the
   * pack states it returns and deletes the old rows: a crash leaves either all old rows or none.
   * Returns how many old rows were converted (0: nothing to do, `convert` not called).
   */
  adoptLegacyRuleStates(convert: (rows: readonly RuleStateRow[]) => readonly PackStateRow[]): Promise<number>;
}
