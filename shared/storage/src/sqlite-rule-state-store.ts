import type { RuleStateRow, RuleStateStore } from "./rule-state-store";
import { openSqliteDatabase, type StoreSchema } from "./sqlite-database";
import { StoreCorruptError, StoreInputError } from "./storage-errors";

interface StateRow {
  site_id: string;
  pack_id: string;
  rule_id: string;
  state: string;
}

/** The per-rule state table, version by version (the case store reads it as legacy rule states). */
const RULE_STATE_SCHEMA: StoreSchema = {
  store: "rule-state",
  steps: [
    {
      version: 1,
      does: "rule_state",
      up: (db) =>
        db.exec(`
          CREATE TABLE IF NOT EXISTS rule_state (
            site_id TEXT NOT NULL,
            pack_id TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (site_id, pack_id, rule_id)
          );
        `),
    },
  ],
};

/** The old rows as RuleStateRow; the JSON is checked here so one bad row names itself. */
export function legacyRuleState(row: StateRow): RuleStateRow {
  try {
    return { siteId: row.site_id, packId: row.pack_id, ruleId: row.rule_id, state: JSON.parse(row.state) as unknown };
  } catch {
    throw new StoreCorruptError(`rule state of ${row.site_id}/${row.pack_id} ${row.rule_id} is not JSON`);
  }
}

/**
 * Rule state in a SQLite file, per (site, pack, rule) (the ingestion keeps it beside its cases, in cases.db).
 * @deprecated The rule engine saves one state per pack with its batch: RuleLedger.commit on the
 * case store (pack_state). This store stays until the ingestion has moved; its rows convert once with
 * `adoptLegacyRuleStates`.
 */
export function openSqliteRuleStateStore(file: string): RuleStateStore {
  const db = openSqliteDatabase(file, RULE_STATE_SCHEMA);
  const selectAll = db.prepare<[], StateRow>("SELECT site_id, pack_id, rule_id, state FROM rule_state");
  const upsert = db.prepare<[string, string, string, string]>(
    "INSERT INTO rule_state (site_id, pack_id, rule_id, state) VALUES (?, ?, ?, ?) ON CONFLICT (site_id, pack_id, rule_id) DO UPDATE SET state = excluded.state",
  );
  const remove = db.prepare<[string, string, string]>("DELETE FROM rule_state WHERE site_id = ? AND pack_id = ? AND rule_id = ?");
  const saveAll = db.transaction((rows: readonly RuleStateRow[]) => {
    for (const row of rows) {
      if (row.state === null || row.state === undefined) remove.run(row.siteId, row.packId, row.ruleId);
      else upsert.run(row.siteId, row.packId, row.ruleId, JSON.stringify(row.state));
    }
  });
  return {
    async load() {
      return selectAll.all().map(legacyRuleState);
    },
    async save(rows) {
      for (const row of rows) {
        if (typeof row.siteId !== "string" || typeof row.packId !== "string" || typeof row.ruleId !== "string") {
          throw new StoreInputError("rule state rows need string siteId, packId and ruleId");
        }
      }
      if (rows.length > 0) saveAll.immediate(rows);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
