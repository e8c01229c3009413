import type { PackSample, SupportCase } from "@bms/shared";
import type { FiringInput, FiringResult, OpenFreezeFrame } from "./case-store";

/** One change the rules made, applied in order within a batch. */
export type RuleCommand =
  | { kind: "fire"; firing: FiringInput }
  | { kind: "clear"; siteId: string; packId: string; ruleId: string; at: number }
  | { kind: "freeze-frame"; firingKey: string; after: readonly PackSample[]; complete: boolean };

export type RuleCommandResult =
  | { kind: "fire"; result: FiringResult }
  | { kind: "clear"; case: SupportCase | null }
  | { kind: "freeze-frame"; caseId: string | null };

/** The engine's whole state of one pack (or of a site: packId "_site"), JSON; null deletes. The store does not interpret it. */
export interface PackStateRow {
  siteId: string;
  packId: string;
  state: unknown;
}

export interface RuleLedger {
  /** Applies the commands in order and upserts/deletes the pack states, all in one transaction. */
  commit(commands: readonly RuleCommand[], states: readonly PackStateRow[]): Promise<RuleCommandResult[]>;
  /** Every saved pack state; with `packs`, only those. */
  loadStates(packs?: readonly { siteId: string; packId: string }[]): Promise<PackStateRow[]>;
  /** Freeze frames whose after-window is still open, with the firingKey that started them. */
  openFreezeFrames(): Promise<(OpenFreezeFrame & { firingKey: string })[]>;
}
