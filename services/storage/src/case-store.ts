import type { CaseEvidence, CaseStatus, Severity, SupportCase } from "@bms/shared";

export interface OpenCaseInput {
  siteId: string;
  packId: string;
  ruleId: string;
  severity: Severity;
  title: string;
  evidence: CaseEvidence;
  /** ms; the time of the triggering sample or check. */
  at: number;
}

export interface CaseFilter {
  siteId?: string;
  packId?: string;
  ruleId?: string;
  status?: CaseStatus | "active"; // active = open or acknowledged
  /** @default 100 */
  limit?: number;
}

/**
 * Support cases: at most one active (open or acknowledged) case per (site, pack, rule).
 * Async so that a PostgreSQL implementation fits the same interface; every implementation runs
 * the conformance suite in test/case-store.conformance.ts.
 */
export interface CaseStore {
  /**
   * Opens a case, or, when one is already active for (site, pack, rule), counts one more
   * occurrence on it (`created: false`). Atomic: two concurrent calls never make two cases.
   */
  openOrUpdate(input: OpenCaseInput): Promise<{ case: SupportCase; created: boolean }>;
  /** Marks the condition cleared on the active case; null when there is none. */
  markCleared(siteId: string, packId: string, ruleId: string, at: number): Promise<SupportCase | null>;
  /** An engineer acknowledges or closes a case; null when the id is unknown. */
  setStatus(id: string, status: CaseStatus, at: number): Promise<SupportCase | null>;
  get(id: string): Promise<SupportCase | null>;
  /** Newest first. */
  list(filter?: CaseFilter): Promise<SupportCase[]>;
  close(): Promise<void>;
}
