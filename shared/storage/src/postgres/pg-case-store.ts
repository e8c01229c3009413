import type { SupportCase } from "@bms/shared";
import { type CaseRow, caseFromRow, type FreezeFrameRow, freezeFrameFromRow, type TimelineRow, timelineFromRow } from "../case-rows";
import type { CaseFilter, CaseStore } from "../case-store";
import {
  type ChangeCase,
  caseListQuery,
  checkTimelinePage,
  engineerChanges,
  newCaseId,
  ROLLUP_CLOSED_KEPT,
  rollupOf,
  ruleCommandWrappers,
} from "../case-store-core";
import type { RuleLedger } from "../rule-ledger";
import { lockPacks, PgCaseWriter } from "./pg-case-writer";
import type { PgDatabase } from "./pg-database";
import { createPgRuleLedger } from "./pg-rule-ledger";

/** The PostgreSQL case store: cases for the engineers, and the rule engine's batch commit. */
export type PostgresCaseStore = CaseStore & RuleLedger;

const SELECT_BY_ID = "SELECT * FROM support_cases WHERE id = $1";
const CLAIM_COMMAND_ENTRY = "INSERT INTO case_command_entries (command_id, status, case_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/**
 * A CaseStore on a PostgreSQL database that several ingestion workers and live nodes share. The case
 * policy decides; this adapter reads, asks for a plan and writes it, each change in one transaction
 * that holds its pack's advisory lock, and the partial unique index `support_cases_one_current`
 * keeps one case per (site, pack, rule) that is not closed whatever else writes. `close()` releases
 * this store's share of the pool.
 */
export function createPgCaseStore(db: PgDatabase, release: () => Promise<void>): PostgresCaseStore {
  const ledger = createPgRuleLedger(db, newCaseId);
  const readCases = async (text: string, values: readonly (string | number)[]) => (await db.query<CaseRow>(text, values)).map(caseFromRow);

  const withDetails = async (c: SupportCase): Promise<SupportCase> => {
    const [frames, timeline, related] = await Promise.all([
      db.query<FreezeFrameRow>("SELECT * FROM case_freeze_frames WHERE case_id = $1 ORDER BY trigger_ts", [c.id]),
      db.query<TimelineRow>("SELECT * FROM case_timeline WHERE case_id = $1 ORDER BY id", [c.id]),
      db.query<{ id: string }>(
        "SELECT id FROM support_cases WHERE site_id = $1 AND pack_id = $2 AND status <> 'closed' AND id <> $3 ORDER BY opened_at DESC, seq DESC",
        [c.siteId, c.packId, c.id],
      ),
    ]);
    return { ...c, freezeFrames: frames.map(freezeFrameFromRow), timeline: timeline.map(timelineFromRow), relatedCaseIds: related.map((r) => r.id) };
  };

  /** An engineer's change: lock the case's pack, read the case, claim the command entry's key, plan, write; null for an unknown id or a key claimed before. */
  const change: ChangeCase = (id, plan, claim) =>
    db.transaction(async (sql) => {
      const [pack] = await sql.query<{ site_id: string; pack_id: string }>("SELECT site_id, pack_id FROM support_cases WHERE id = $1", [id]);
      if (!pack) return null;
      await lockPacks(db, sql, [{ siteId: pack.site_id, packId: pack.pack_id }]);
      // Read again under the lock: a batch may have changed the case since.
      const [row] = await sql.query<CaseRow>(SELECT_BY_ID, [id], "case-by-id");
      if (!row) return null;
      // A second node applying the same result waits here for the first to commit, then finds the key taken.
      if (claim && (await sql.run(CLAIM_COMMAND_ENTRY, [claim.commandId, claim.status, id], "claim-command-entry")) === 0) return null;
      const planned = plan(caseFromRow(row));
      const writer = new PgCaseWriter(sql);
      await writer.write(planned);
      await writer.finish();
      return planned.case;
    });

  return {
    commit: ledger.commit,
    loadStates: ledger.loadStates,
    openFreezeFrames: ledger.openFreezeFrames,

    ...ruleCommandWrappers(ledger.commitParsed, ledger.frameKeyOf),
    ...engineerChanges(change),

    async get(id, options = {}) {
      const [c] = await readCases(SELECT_BY_ID, [id]);
      if (!c) return null;
      return options.details === true ? withDetails(c) : c;
    },
    async list(filter: CaseFilter = {}) {
      const query = caseListQuery(filter, (n) => `$${n}`);
      if (query === null) return [];
      return readCases(`SELECT * FROM support_cases ${query.where} ORDER BY opened_at DESC, seq DESC LIMIT ${query.limitParam}`, query.params);
    },
    async rollup(siteId, packId) {
      const [active, closed] = await Promise.all([
        readCases("SELECT * FROM support_cases WHERE site_id = $1 AND pack_id = $2 AND status <> 'closed' ORDER BY opened_at DESC, seq DESC", [siteId, packId]),
        readCases("SELECT * FROM support_cases WHERE site_id = $1 AND pack_id = $2 AND status = 'closed' ORDER BY closed_at DESC LIMIT $3", [
          siteId,
          packId,
          ROLLUP_CLOSED_KEPT,
        ]),
      ]);
      return rollupOf(siteId, packId, active, closed);
    },
    async timelineSince(afterId, limit) {
      checkTimelinePage(afterId, limit);
      return (await db.query<TimelineRow>("SELECT * FROM case_timeline WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit])).map(timelineFromRow);
    },
    async latestTimelineId() {
      const [clock] = await db.query<{ last_id: number }>("SELECT last_id FROM case_timeline_clock");
      return clock?.last_id ?? 0;
    },
    close: release,
  };
}
