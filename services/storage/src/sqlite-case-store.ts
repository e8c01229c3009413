import { randomUUID } from "node:crypto";
import { Actor, CaseAssignee, CaseNoteText, CostLineInput, type PackCaseRollup, SEVERITY_RANK, Severity, SparePartInput, type SupportCase } from "@bms/shared";
import { checkAt, checked, checkStatus, parseCommand } from "./case-inputs";
import { type CasePlan, planAssign, planCostLine, planNote, planSparePart, planTransition } from "./case-policy";
import { type CaseRow, caseFromRow, type FreezeFrameRow, freezeFrameFromRow, type TimelineRow, timelineFromRow } from "./case-rows";
import type { CaseFilter, CaseStore } from "./case-store";
import type { LegacyRuleStates, RuleCommand, RuleLedger } from "./rule-ledger";
import { createCaseWriter } from "./sqlite-case-rows";
import { CASE_SCHEMA } from "./sqlite-case-schema";
import { openSqliteDatabase } from "./sqlite-database";
import { createSqliteRuleLedger } from "./sqlite-rule-ledger";
import { StoreCorruptError, StoreInputError } from "./storage-errors";

/** Largest page `list` returns. */
export const MAX_CASE_LIST_LIMIT = 10_000;
const DEFAULT_CASE_LIST_LIMIT = 100;
/** Closed cases a roll-up lists besides the ones that are not closed. */
const ROLLUP_CLOSED_KEPT = 20;

/** The SQLite case store: cases for the engineers, and the rule engine's batch commit on the same connection. */
export type SqliteCaseStore = CaseStore & RuleLedger & LegacyRuleStates;

/** Short, URL-safe, unique: 22 base64url characters of a random UUID's 128 bits. */
function newId(): string {
  return Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
}

/**
 * A CaseStore in a SQLite file that the ingestion (rules) and the live service (engineers) share.
 * The case policy (case-policy/) decides; this adapter reads the rows it needs, asks it for a plan
 * and writes the plan, each change in one IMMEDIATE transaction. "One case per (site, pack, rule)
 * that is not closed" is a partial unique index, so it holds across processes.
 */
export function openSqliteCaseStore(file: string): SqliteCaseStore {
  const db = openSqliteDatabase(file, CASE_SCHEMA);
  const writer = createCaseWriter(db);
  const ledger = createSqliteRuleLedger(db, writer, newId);

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

  /** An engineer's change: read the case, plan, write; null for an unknown id. */
  const changeTx = db.transaction((id: string, plan: (c: SupportCase) => CasePlan): SupportCase | null => {
    const row = selectById.get(id);
    if (!row) return null;
    const planned = plan(caseFromRow(row));
    writer.write(planned);
    return planned.case;
  });
  const change = (id: string, plan: (c: SupportCase) => CasePlan) => changeTx.immediate(id, plan);
  const actorOf = (actor: string) => checked(Actor, actor, "actor");

  /** One rule command through the same path as a batch. */
  const commitOne = (command: RuleCommand, where: string) => {
    const [result] = ledger.commitParsed([parseCommand(command, where)]);
    if (!result) throw new StoreCorruptError(`${where}: the ledger returned no result`);
    return result;
  };

  return {
    commit: ledger.commit,
    loadStates: ledger.loadStates,
    openFreezeFrames: ledger.openFreezeFrames,
    loadLegacyRuleStates: ledger.loadLegacyRuleStates,
    adoptLegacyRuleStates: ledger.adoptLegacyRuleStates,

    async recordFiring(input) {
      const result = commitOne({ kind: "fire", firing: input }, "recordFiring");
      if (result.kind !== "fire") throw new StoreCorruptError("recordFiring: the ledger answered another command");
      return result.result;
    },
    async markCleared(siteId, packId, ruleId, at) {
      const result = commitOne({ kind: "clear", siteId, packId, ruleId, at }, "markCleared");
      return result.kind === "clear" ? result.case : null;
    },
    async appendFreezeFrame(caseId, triggerTs, after, complete) {
      const firingKey = ledger.frameKeyOf(String(caseId), Number(triggerTs));
      if (firingKey !== null) commitOne({ kind: "freeze-frame", firingKey, after, complete }, "appendFreezeFrame");
    },

    async transition(id, to, actor, at, text) {
      checkAt(at, "transition");
      const status = checkStatus(to);
      const reason = text === undefined ? undefined : checked(CaseNoteText, text, "note");
      const who = actorOf(actor);
      return change(id, (c) => planTransition(c, status, who, at, reason));
    },
    async assign(id, assignee, actor, at) {
      checkAt(at, "assign");
      const whom = checked(CaseAssignee, assignee, "assignee");
      const who = actorOf(actor);
      return change(id, (c) => planAssign(c, whom, who, at));
    },
    async addNote(id, text, actor, at) {
      checkAt(at, "addNote");
      const note = checked(CaseNoteText, text, "note");
      const who = actorOf(actor);
      return change(id, (c) => planNote(c, note, who, at));
    },
    async addCostLine(id, line: CostLineInput, actor, at) {
      checkAt(at, "addCostLine");
      const input = checked(CostLineInput, line, "cost line");
      const who = actorOf(actor);
      return change(id, (c) => planCostLine(c, input, who, at, newId()));
    },
    async addSparePart(id, part: SparePartInput, actor, at) {
      checkAt(at, "addSparePart");
      const input = checked(SparePartInput, part, "spare part");
      const who = actorOf(actor);
      return change(id, (c) => planSparePart(c, input, who, at, newId()));
    },

    async get(id, options = {}) {
      const row = selectById.get(id);
      if (!row) return null;
      const c = caseFromRow(row);
      return options.details === true ? withDetails(c) : c;
    },
    async list(filter: CaseFilter = {}) {
      const limit = filter.limit ?? DEFAULT_CASE_LIST_LIMIT;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CASE_LIST_LIMIT) {
        throw new StoreInputError(`list limit must be a whole number from 1 to ${MAX_CASE_LIST_LIMIT}, got ${String(limit)}`);
      }
      const where: string[] = [];
      const params: (string | number)[] = [];
      const eq = (column: string, value: string | undefined) => {
        if (value === undefined) return;
        where.push(`${column} = ?`);
        params.push(value);
      };
      eq("site_id", filter.siteId);
      eq("pack_id", filter.packId);
      eq("rule_id", filter.ruleId);
      eq("assignee", filter.assignee);
      if (filter.status === "active") where.push("status <> 'closed'");
      else if (filter.status !== undefined) {
        const statuses = filter.status.map(checkStatus);
        if (statuses.length === 0) return [];
        where.push(`status IN (${statuses.map(() => "?").join(", ")})`);
        params.push(...statuses);
      }
      if (filter.severity !== undefined) {
        const severities = filter.severity.map((s) => checked(Severity, s, "severity"));
        if (severities.length === 0) return [];
        where.push(`severity IN (${severities.map(() => "?").join(", ")})`);
        params.push(...severities);
      }
      const sql = `SELECT * FROM support_cases ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY opened_at DESC, rowid DESC LIMIT ?`;
      return db
        .prepare<(string | number)[], CaseRow>(sql)
        .all(...params, limit)
        .map(caseFromRow);
    },
    async rollup(siteId, packId): Promise<PackCaseRollup> {
      const active = selectPackActive.all(siteId, packId).map(caseFromRow);
      const closed = selectPackClosed.all(siteId, packId, ROLLUP_CLOSED_KEPT).map(caseFromRow);
      let worst: Severity | null = null;
      for (const c of active) worst = worst === null || SEVERITY_RANK[c.severity] > SEVERITY_RANK[worst] ? c.severity : worst;
      return {
        siteId,
        packId,
        worstSeverity: worst,
        activeCases: active.length,
        rules: [...new Set(active.map((c) => c.ruleId))],
        cases: [...active, ...closed],
      };
    },
    async timelineSince(afterId, limit) {
      if (!Number.isSafeInteger(afterId) || afterId < 0) throw new StoreInputError(`timeline cursor must be a whole number >= 0, got ${String(afterId)}`);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CASE_LIST_LIMIT)
        throw new StoreInputError(`timeline limit must be 1 to ${MAX_CASE_LIST_LIMIT}`);
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
