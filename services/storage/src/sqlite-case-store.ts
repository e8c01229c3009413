import { randomUUID } from "node:crypto";
import { CaseEvidence, CaseStatus, EpochMs, Id, RuleId, Severity, SupportCase } from "@bms/shared";
import { z } from "zod";
import type { CaseFilter, CaseStore, OpenCaseInput } from "./case-store";
import { openSqliteDatabase } from "./sqlite-database";
import { CaseTransitionError, StoreCorruptError, StoreInputError } from "./storage-errors";

/** Largest page `list` returns. */
export const MAX_CASE_LIST_LIMIT = 10_000;
const DEFAULT_CASE_LIST_LIMIT = 100;

const OpenCaseInputSchema = z.object({
  siteId: Id,
  packId: Id,
  ruleId: RuleId,
  severity: Severity,
  title: z.string().max(1000),
  evidence: CaseEvidence,
  at: EpochMs,
});

interface CaseRow {
  id: string;
  site_id: string;
  pack_id: string;
  rule_id: string;
  severity: string;
  status: string;
  title: string;
  opened_at: number;
  updated_at: number;
  cleared_at: number | null;
  closed_at: number | null;
  occurrences: number;
  evidence: string;
}

function fromRow(row: CaseRow): SupportCase {
  let evidence: unknown;
  try {
    evidence = JSON.parse(row.evidence);
  } catch {
    throw new StoreCorruptError(`case ${row.id}: stored evidence is not JSON`);
  }
  const parsed = SupportCase.safeParse({
    id: row.id,
    siteId: row.site_id,
    packId: row.pack_id,
    ruleId: row.rule_id,
    severity: row.severity,
    status: row.status,
    title: row.title,
    openedAt: row.opened_at,
    updatedAt: row.updated_at,
    clearedAt: row.cleared_at,
    closedAt: row.closed_at,
    occurrences: row.occurrences,
    evidence,
  });
  if (!parsed.success) throw new StoreCorruptError(`case ${row.id} does not match the SupportCase schema: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

function checkAt(at: number, what: string): number {
  const parsed = EpochMs.safeParse(at);
  if (!parsed.success) throw new StoreInputError(`${what}: expected a time in ms since the epoch (2000-2100), got ${String(at)}`);
  return parsed.data;
}

function checkStatus(status: string): CaseStatus {
  const parsed = CaseStatus.safeParse(status);
  if (!parsed.success) throw new StoreInputError(`case status must be one of ${CaseStatus.options.join(", ")}, got ${JSON.stringify(status)}`);
  return parsed.data;
}

/** Short, URL-safe, unique: 22 base64url characters of a random UUID's 128 bits. */
function newCaseId(): string {
  return Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
}

/**
 * A CaseStore in a SQLite file that the ingestion (writer) and the live service (reader) share.
 * "One active case per (site, pack, rule)" is a partial unique index, so it holds across processes.
 */
export function openSqliteCaseStore(file: string): CaseStore {
  const db = openSqliteDatabase(file, (d) => {
    d.exec(`
      CREATE TABLE IF NOT EXISTS cases (
        id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        pack_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
        title TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        cleared_at INTEGER,
        closed_at INTEGER,
        occurrences INTEGER NOT NULL CHECK (occurrences >= 1),
        evidence TEXT NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS cases_one_active
        ON cases (site_id, pack_id, rule_id) WHERE status IN ('open', 'acknowledged');
      CREATE INDEX IF NOT EXISTS cases_by_opened ON cases (opened_at DESC);
      CREATE INDEX IF NOT EXISTS cases_by_site ON cases (site_id, pack_id, opened_at DESC);
    `);
  });

  const selectById = db.prepare<[string], CaseRow>("SELECT * FROM cases WHERE id = ?");
  const selectActive = db.prepare<[string, string, string], CaseRow>(
    "SELECT * FROM cases WHERE site_id = ? AND pack_id = ? AND rule_id = ? AND status IN ('open', 'acknowledged')",
  );
  const insert = db.prepare<[string, string, string, string, string, string, number, number, number, string]>(
    `INSERT INTO cases (id, site_id, pack_id, rule_id, severity, status, title, opened_at, updated_at, cleared_at, closed_at, occurrences, evidence)
     VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, NULL, NULL, ?, ?)`,
  );
  // A new occurrence: the condition is active again, so it is no longer cleared.
  const countOccurrence = db.prepare<[number, string]>(
    "UPDATE cases SET occurrences = occurrences + 1, updated_at = max(updated_at, ?), cleared_at = NULL WHERE id = ?",
  );
  const setCleared = db.prepare<[number, number, string]>("UPDATE cases SET cleared_at = ?, updated_at = max(updated_at, ?) WHERE id = ?");
  const updateStatus = db.prepare<[string, number, number | null, string]>(
    "UPDATE cases SET status = ?, updated_at = max(updated_at, ?), closed_at = ? WHERE id = ?",
  );

  const openOrUpdateTx = db.transaction((input: z.output<typeof OpenCaseInputSchema>) => {
    const active = selectActive.get(input.siteId, input.packId, input.ruleId);
    if (active) {
      countOccurrence.run(input.at, active.id);
      return { id: active.id, created: false };
    }
    const id = newCaseId();
    insert.run(id, input.siteId, input.packId, input.ruleId, input.severity, input.title, input.at, input.at, 1, JSON.stringify(input.evidence));
    return { id, created: true };
  });

  const markClearedTx = db.transaction((siteId: string, packId: string, ruleId: string, at: number) => {
    const active = selectActive.get(siteId, packId, ruleId);
    if (!active) return null;
    setCleared.run(at, at, active.id);
    return active.id;
  });

  const setStatusTx = db.transaction((id: string, status: CaseStatus, at: number) => {
    const row = selectById.get(id);
    if (!row) return null;
    if (row.status === status) return id;
    if (row.status === "closed") throw new CaseTransitionError(id, row.status, status);
    updateStatus.run(status, at, status === "closed" ? at : null, id);
    return id;
  });

  const readCase = (id: string): SupportCase => {
    const row = selectById.get(id);
    if (!row) throw new StoreCorruptError(`case ${id} vanished inside its own transaction`);
    return fromRow(row);
  };

  return {
    async openOrUpdate(input: OpenCaseInput) {
      const parsed = OpenCaseInputSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new StoreInputError(`cannot open a case: ${issue?.path.join(".") || "(input)"}: ${issue?.message ?? "invalid"}`);
      }
      // IMMEDIATE takes the write lock before reading, so two processes cannot both see "no active case".
      const { id, created } = openOrUpdateTx.immediate(parsed.data);
      return { case: readCase(id), created };
    },
    async markCleared(siteId, packId, ruleId, at) {
      checkAt(at, "markCleared");
      const id = markClearedTx.immediate(siteId, packId, ruleId, at);
      return id === null ? null : readCase(id);
    },
    async setStatus(id, status, at) {
      checkAt(at, "setStatus");
      const changed = setStatusTx.immediate(id, checkStatus(status), at);
      return changed === null ? null : readCase(changed);
    },
    async get(id) {
      const row = selectById.get(id);
      return row ? fromRow(row) : null;
    },
    async list(filter: CaseFilter = {}) {
      const limit = filter.limit ?? DEFAULT_CASE_LIST_LIMIT;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CASE_LIST_LIMIT) {
        throw new StoreInputError(`list limit must be a whole number from 1 to ${MAX_CASE_LIST_LIMIT}, got ${String(limit)}`);
      }
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (filter.siteId !== undefined) {
        where.push("site_id = ?");
        params.push(filter.siteId);
      }
      if (filter.packId !== undefined) {
        where.push("pack_id = ?");
        params.push(filter.packId);
      }
      if (filter.ruleId !== undefined) {
        where.push("rule_id = ?");
        params.push(filter.ruleId);
      }
      if (filter.status === "active") where.push("status IN ('open', 'acknowledged')");
      else if (filter.status !== undefined) {
        where.push("status = ?");
        params.push(checkStatus(filter.status));
      }
      const sql = `SELECT * FROM cases ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY opened_at DESC, rowid DESC LIMIT ?`;
      return db
        .prepare<(string | number)[], CaseRow>(sql)
        .all(...params, limit)
        .map(fromRow);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
