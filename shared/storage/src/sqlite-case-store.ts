import type { SupportCase } from "@bms/shared";
import type { CasePlan } from "./case-policy";
import type { CaseRow, FreezeFrameRow, TimelineRow } from "./case-rows";
import { caseFromRow, freezeFrameFromRow, timelineFromRow } from "./case-rows";
import type { CaseFilter, CaseStore } from "./case-store";
import {
  type CommandClaim,
  caseListQuery,
  checkTimelinePage,
  engineerChanges,
  newCaseId,
  ROLLUP_CLOSED_KEPT,
  rollupOf,
  ruleCommandWrappers,
} from "./case-store-core";
import type { LegacyRuleStates, RuleLedger } from "./rule-ledger";
import { createCaseWriter } from "./sqlite-case-rows";
import { CASE_SCHEMA } from "./sqlite-case-schema";
import { openSqliteDatabase } from "./sqlite-database";
import { createSqliteRuleLedger } from "./sqlite-rule-ledger";

/** The SQLite case store: cases for the engineers, and the rule engine's batch commit on the same connection. */
export type SqliteCaseStore = CaseStore & RuleLedger & LegacyRuleStates;

/**
 * A CaseStore in a SQLite file that the ingestion (rules) and the live service (engineers) share.
 * The case policy (case-policy/) decides; this adapter reads the rows it needs, asks it for a plan
 * and writes the plan, each change in one IMMEDIATE transaction. "One case per (site, pack, rule)
 * that is not closed" is a partial unique index, so it holds across processes.
 */
export function openSqliteCaseStore(file: string): SqliteCaseStore {
  const db = openSqliteDatabase(file, CASE_SCHEMA);
  const writer = createCaseWriter(db);
  const ledger = createSqliteRuleLedger(db, writer, newCaseId);

  const selectById = db.prepare<[string], CaseRow>("SELECT * FROM support_cases WHERE id = ?");
  const selectTimeline = db.prepare<[string], TimelineRow>("SELECT * FROM case_timeline WHERE case_id = ? ORDER BY id");
  const selectLatestTimeline = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM case_timeline");
  const selectTimelineSince = db.prepare<[number, number], TimelineRow>("SELECT * FROM case_timeline WHERE id > ? ORDER BY id LIMIT ?");
  const selectFreezeFrames = db.prepare<[string], FreezeFrameRow>("SELECT * FROM case_freeze_frames WHERE case_id = ? ORDER BY trigger_ts");
  const selectRelated = db.prepare<[string, string, string], { id: string }>(
    "SELECT id FROM support_cases WHERE site_id = ? AND pack_id = ? AND status <> 'closed' AND id <> ? ORDER BY opened_at DESC",
  );
  const selectPackActive = db.prepare<[string, string], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND status <> 'closed' ORDER BY opened_at DESC",
  );
  const selectPackClosed = db.prepare<[string, string, number], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND status = 'closed' ORDER BY closed_at DESC LIMIT ?",
  );

  const withDetails = (c: SupportCase): SupportCase => ({
    ...c,
    freezeFrames: selectFreezeFrames.all(c.id).map(freezeFrameFromRow),
    timeline: selectTimeline.all(c.id).map(timelineFromRow),
    relatedCaseIds: selectRelated.all(c.siteId, c.packId, c.id).map((r) => r.id),
  });

  const insertClaim = db.prepare<[string, string, string]>("INSERT OR IGNORE INTO case_command_entries (command_id, status, case_id) VALUES (?, ?, ?)");

  /** An engineer's change: read the case, claim the command entry's key, plan, write; null for an unknown id or a key claimed before. */
  const changeTx = db.transaction((id: string, plan: (c: SupportCase) => CasePlan, claim?: CommandClaim): SupportCase | null => {
    const row = selectById.get(id);
    if (!row) return null;
    if (claim && insertClaim.run(claim.commandId, claim.status, id).changes === 0) return null;
    const planned = plan(caseFromRow(row));
    writer.write(planned);
    return planned.case;
  });

  return {
    commit: ledger.commit,
    loadStates: ledger.loadStates,
    openFreezeFrames: ledger.openFreezeFrames,
    loadLegacyRuleStates: ledger.loadLegacyRuleStates,
    adoptLegacyRuleStates: ledger.adoptLegacyRuleStates,

    ...ruleCommandWrappers(ledger.commitParsed, ledger.frameKeyOf),
    ...engineerChanges((id, plan, claim) => changeTx.immediate(id, plan, claim)),

    async get(id, options = {}) {
      const row = selectById.get(id);
      if (!row) return null;
      const c = caseFromRow(row);
      return options.details === true ? withDetails(c) : c;
    },
    async list(filter: CaseFilter = {}) {
      const query = caseListQuery(filter, () => "?");
      if (query === null) return [];
      const sql = `SELECT * FROM support_cases ${query.where} ORDER BY opened_at DESC, rowid DESC LIMIT ${query.limitParam}`;
      return db
        .prepare<(string | number)[], CaseRow>(sql)
        .all(...query.params)
        .map(caseFromRow);
    },
    async rollup(siteId, packId) {
      const active = selectPackActive.all(siteId, packId).map(caseFromRow);
      return rollupOf(siteId, packId, active, selectPackClosed.all(siteId, packId, ROLLUP_CLOSED_KEPT).map(caseFromRow));
    },
    async timelineSince(afterId, limit) {
      checkTimelinePage(afterId, limit);
      return selectTimelineSince.all(afterId, limit).map(timelineFromRow);
    },
    async latestTimelineId() {
      return selectLatestTimeline.get()?.id ?? 0;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
