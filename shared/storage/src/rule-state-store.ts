/** One rule's saved state for one pack (or site): what is pending, what is active. */
export interface RuleStateRow {
  siteId: string;
  packId: string;
  ruleId: string;
  /** JSON-serialisable; the rule's own shape. */
  state: unknown;
}

/**
 * Where the ingestion keeps rule state across restarts. Async so that a PostgreSQL store fits;
 * every implementation runs test/rule-state-store.conformance.ts.
 * @deprecated Pack states are saved with their batch by RuleLedger.commit (rule-ledger.ts); the old
 * rows convert once with LegacyRuleStates.adoptLegacyRuleStates.
 */
export interface RuleStateStore {
  /** Every saved state. */
  load(): Promise<RuleStateRow[]>;
  /** Writes (insert or replace) all rows in one transaction; `state: null` deletes the row. */
  save(rows: readonly RuleStateRow[]): Promise<void>;
  close(): Promise<void>;
}
