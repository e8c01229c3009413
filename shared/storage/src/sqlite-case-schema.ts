import { CaseStatus, Severity } from "@bms/shared";
import type Database from "better-sqlite3";
import { RULES_ACTOR } from "./case-policy";
import type { StoreSchema } from "./sqlite-database";

const V1_STATUS_MAP = "CASE status WHEN 'closed' THEN 'closed' WHEN 'acknowledged' THEN 'acknowledged' ELSE 'open' END";

/** Step 1: the support-case tables as schema 2 had them; a v1 `cases` table (the first case store) is carried over and dropped. */
function caseTables(db: Database.Database): void {
  const statuses = CaseStatus.options.map((s) => `'${s}'`).join(", ");
  const severities = Severity.options.map((s) => `'${s}'`).join(", ");
  db.exec(`
    CREATE TABLE IF NOT EXISTS support_cases (
      id TEXT PRIMARY KEY,
      site_id TEXT NOT NULL,
      pack_id TEXT NOT NULL,
      rule_id TEXT NOT NULL,
      severity TEXT NOT NULL CHECK (severity IN (${severities})),
      status TEXT NOT NULL CHECK (status IN (${statuses})),
      title TEXT NOT NULL,
      opened_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      cleared_at INTEGER,
      acknowledged_at INTEGER,
      resolved_at INTEGER,
      closed_at INTEGER,
      assignee TEXT,
      occurrences INTEGER NOT NULL CHECK (occurrences >= 1),
      last_occurrence_at INTEGER NOT NULL,
      reopened_count INTEGER NOT NULL DEFAULT 0,
      evidence TEXT NOT NULL,
      warranty TEXT,
      cost_lines TEXT NOT NULL DEFAULT '[]',
      spare_parts TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX IF NOT EXISTS support_cases_one_current
      ON support_cases (site_id, pack_id, rule_id) WHERE status <> 'closed';
    CREATE INDEX IF NOT EXISTS support_cases_by_opened ON support_cases (opened_at DESC);
    CREATE INDEX IF NOT EXISTS support_cases_by_pack ON support_cases (site_id, pack_id, opened_at DESC);
    CREATE TABLE IF NOT EXISTS case_firings (
      firing_key TEXT PRIMARY KEY,
      case_id TEXT NOT NULL,
      outcome TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS case_timeline (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      case_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      kind TEXT NOT NULL,
      message TEXT NOT NULL,
      status TEXT NOT NULL,
      severity TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS case_timeline_by_case ON case_timeline (case_id, id);
    CREATE TABLE IF NOT EXISTS case_freeze_frames (
      case_id TEXT NOT NULL,
      trigger_ts INTEGER NOT NULL,
      rule_id TEXT NOT NULL,
      before TEXT NOT NULL,
      after TEXT NOT NULL,
      complete INTEGER NOT NULL,
      PRIMARY KEY (case_id, trigger_ts)
    );
  `);
  const v1 = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'cases'").get();
  if (v1) {
    db.exec(`
      INSERT OR IGNORE INTO support_cases (id, site_id, pack_id, rule_id, severity, status, title, opened_at, updated_at, cleared_at,
        acknowledged_at, resolved_at, closed_at, assignee, occurrences, last_occurrence_at, reopened_count, evidence)
      SELECT id, site_id, pack_id, rule_id, severity, ${V1_STATUS_MAP}, title, opened_at, updated_at, cleared_at,
        CASE status WHEN 'acknowledged' THEN updated_at ELSE NULL END, NULL, closed_at, NULL, occurrences, updated_at, 0, evidence
      FROM cases;
      INSERT INTO case_timeline (case_id, at, actor, kind, message, status, severity)
      SELECT id, opened_at, '${RULES_ACTOR}', 'opened', 'Opened (carried over from the schema 1 case store).', ${V1_STATUS_MAP}, severity FROM cases;
      DROP TABLE cases;
    `);
  }
}

/**
 * Step 2: the rule engine's batch commit (RuleLedger). A freeze frame names the firing that started
 * it (`firing_key`; a frame of schema 2 gets the key of the opening or reopening firing recorded at
 * its trigger, else `legacy:<case>:<trigger ts>`); clears applied are remembered, so a batch
 * replayed after a crash clears nothing twice; one JSON state per pack.
 */
function ruleLedgerTables(db: Database.Database): void {
  db.exec(`
    CREATE INDEX case_firings_by_case_tmp ON case_firings (case_id, at);
    CREATE TABLE case_freeze_frames_v2 (
      case_id TEXT NOT NULL,
      trigger_ts INTEGER NOT NULL,
      rule_id TEXT NOT NULL,
      firing_key TEXT NOT NULL UNIQUE,
      before TEXT NOT NULL,
      after TEXT NOT NULL,
      complete INTEGER NOT NULL,
      PRIMARY KEY (case_id, trigger_ts)
    );
    INSERT INTO case_freeze_frames_v2 (case_id, trigger_ts, rule_id, firing_key, before, after, complete)
    SELECT f.case_id, f.trigger_ts, f.rule_id,
      coalesce(
        (SELECT k.firing_key FROM case_firings k
          WHERE k.case_id = f.case_id AND k.at = f.trigger_ts AND k.outcome IN ('opened', 'reopened') ORDER BY k.rowid LIMIT 1),
        'legacy:' || f.case_id || ':' || f.trigger_ts),
      f.before, f.after, f.complete
    FROM case_freeze_frames f;
    DROP TABLE case_freeze_frames;
    ALTER TABLE case_freeze_frames_v2 RENAME TO case_freeze_frames;
    DROP INDEX case_firings_by_case_tmp;
    CREATE INDEX case_freeze_frames_open ON case_freeze_frames (case_id) WHERE complete = 0;
    CREATE TABLE case_clears (
      site_id TEXT NOT NULL,
      pack_id TEXT NOT NULL,
      rule_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (site_id, pack_id, rule_id, at)
    ) WITHOUT ROWID;
    CREATE TABLE pack_state (
      site_id TEXT NOT NULL,
      pack_id TEXT NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (site_id, pack_id)
    );
  `);
}

/** Which (command, status) a case has recorded: every live node applies each result, the timeline gets it once. */
const COMMAND_ENTRIES_SQL = `
  CREATE TABLE case_command_entries (
    command_id TEXT NOT NULL,
    status TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (command_id, status)
  ) WITHOUT ROWID;
`;

/** The case store's tables (cases, timeline, firings, freeze frames, clears, pack states), version by version. */
export const CASE_SCHEMA: StoreSchema = {
  store: "cases",
  steps: [
    { version: 1, does: "support cases, timeline, firings, freeze frames (schema 2)", up: caseTables },
    { version: 2, does: "rule ledger: freeze frames by firing key, clears applied, pack states", up: ruleLedgerTables },
    { version: 3, does: "remote commands' entries recorded once per (command, status)", up: (db) => db.exec(COMMAND_ENTRIES_SQL) },
  ],
};
