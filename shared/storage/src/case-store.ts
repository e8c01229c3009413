import type {
  CaseEvidence,
  CaseStatus,
  CostLineInput,
  PackCaseRollup,
  PackSample,
  Severity,
  SparePartInput,
  SupportCase,
  TimelineEntry,
  WarrantyAssessment,
} from "@bms/shared";
import type { CommandEntry } from "./case-policy/engineer-policy";

/** A rule fired on a pack: what the ingestion hands the store. */
export interface FiringInput {
  siteId: string;
  packId: string;
  ruleId: string;
  severity: Severity;
  title: string;
  /** ms: the triggering sample's ts, or the time of the check. */
  at: number;
  /**
   * Idempotency key: a firing recorded once is never recorded again (the same episode replayed
   * after a crash, a redelivered sample). The engine makes it from site, pack, rule, level and the
   * time the condition started to hold.
   */
  firingKey: string;
  /** True when this is a worse level of an episode already recorded (escalation, not an occurrence). */
  escalation: boolean;
  /** For a new case; on an existing one, its bmsAlarms and rulesFired are merged in. */
  evidence: CaseEvidence;
  warranty: WarrantyAssessment | null;
  /**
   * Rules whose current case on this pack (any status but resolved or closed) takes this firing
   * instead of a case of its own, tried in order (the engine passes those that fired recently).
   * The firing is then evidence on that case: its rulesFired and BMS codes, not its severity.
   */
  attachTo: readonly string[];
  /** A closed case of this (site, pack, rule) closed within this many ms before `at` is reopened. */
  reopenWithinMs: number;
  /** The samples up to the trigger, stored with a new or reopened case. */
  freezeFrameBefore?: readonly PackSample[];
}

/**
 * `opened`: a new case. `occurrence`: the case's condition fired again. `escalated`: a worse level
 * of the same episode. `reopened`: the case was resolved or closed and the fault returned.
 * `attached`: recorded on another rule's case that explains it. `duplicate`: this firing key was
 * already recorded (nothing changed).
 */
export type FiringOutcome = "opened" | "occurrence" | "escalated" | "reopened" | "attached" | "duplicate";

export interface FiringResult {
  case: SupportCase;
  outcome: FiringOutcome;
  /** The case's severity rose with this firing (also for occurrences and attachments). */
  severityRaised: boolean;
}

export interface CaseFilter {
  siteId?: string;
  packId?: string;
  ruleId?: string;
  /** One or more statuses, or `active` (every status but closed). */
  status?: readonly CaseStatus[] | "active";
  severity?: readonly Severity[];
  assignee?: string;
  /** @default 100 */
  limit?: number;
}

/** The pack a freeze frame still collects samples for (after-window open). */
export interface OpenFreezeFrame {
  caseId: string;
  siteId: string;
  packId: string;
  triggerTs: number;
  /** Samples collected so far after the trigger. */
  after: number;
  /** The firing that started it: RuleLedger freeze-frame commands name the frame by it. */
  firingKey: string;
}

/**
 * Support cases: at most one case per (site, pack, rule) that is not closed. Async so that a
 * PostgreSQL implementation fits the same interface; every implementation runs the conformance
 * suite in test/case-store.conformance.ts. Every change writes a timeline entry (who, when, what);
 * timeline IDs increase across the store, so consumers (webhooks) can follow them with a cursor.
 */
export interface CaseStore {
  // recordFiring, markCleared and appendFreezeFrame are one-command batches of RuleLedger.commit
  // (rule-ledger.ts), which the rule engine uses to commit a batch with its pack states.

  /** Records a rule firing: opens, counts, escalates, reopens or attaches, atomically and idempotently. */
  recordFiring(input: FiringInput): Promise<FiringResult>;
  /**
   * Marks the condition cleared on the current case of (site, pack, rule); null when there is none,
   * it is already cleared, or this very clear (same site, pack, rule and `at`) was applied before.
   */
  markCleared(siteId: string, packId: string, ruleId: string, at: number): Promise<SupportCase | null>;
  /** Adds samples after a trigger (only those newer than the last kept); `complete` ends the freeze frame. */
  appendFreezeFrame(caseId: string, triggerTs: number, after: readonly PackSample[], complete: boolean): Promise<void>;
  /** Freeze frames whose after-window was still open (to resume after a restart). */
  openFreezeFrames(): Promise<OpenFreezeFrame[]>;

  /** Moves a case through the lifecycle (CASE_TRANSITIONS); CaseTransitionError when not allowed; null for an unknown id. */
  transition(id: string, to: CaseStatus, actor: string, at: number, note?: string): Promise<SupportCase | null>;
  /** null assignee unassigns. */
  assign(id: string, assignee: string | null, actor: string, at: number): Promise<SupportCase | null>;
  addNote(id: string, text: string, actor: string, at: number): Promise<SupportCase | null>;
  addCostLine(id: string, line: CostLineInput, actor: string, at: number): Promise<SupportCase | null>;
  addSparePart(id: string, part: SparePartInput, actor: string, at: number): Promise<SupportCase | null>;
  /**
   * A remote command or its result on the case's timeline (an event-log read or a capture also as
   * evidence); null for an unknown case, or when this (commandId, commandStatus) was recorded on it
   * before (several live nodes apply each result: the timeline gets it once).
   */
  addCommandEntry(id: string, entry: CommandEntry, actor: string, at: number): Promise<SupportCase | null>;

  /** With `details`: freeze frames, timeline and the pack's other active case IDs too. */
  get(id: string, options?: { details?: boolean }): Promise<SupportCase | null>;
  /** Newest first, without details. */
  list(filter?: CaseFilter): Promise<SupportCase[]>;
  /** The pack's cases that are not closed, plus the 20 most recently closed, grouped. */
  rollup(siteId: string, packId: string): Promise<PackCaseRollup>;
  /** Timeline entries with an id above `afterId`, oldest first. */
  timelineSince(afterId: number, limit: number): Promise<TimelineEntry[]>;
  /** The highest timeline id so far (0 for none): where a new consumer starts. */
  latestTimelineId(): Promise<number>;
  close(): Promise<void>;
}
