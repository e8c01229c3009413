import { CaseStatus, FreezeFrame, Severity, SupportCase, type TimelineEntry, TimelineKind } from "@bms/shared";
import type Database from "better-sqlite3";
import { type CaseChanges, type CasePlan, costTotals, type NewFreezeFrame } from "./case-policy";
import { StoreCorruptError } from "./storage-errors";

// How cases, timeline entries and freeze frames are rows of cases.db, both ways.

export interface CaseRow {
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
  acknowledged_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  assignee: string | null;
  occurrences: number;
  last_occurrence_at: number;
  reopened_count: number;
  evidence: string;
  warranty: string | null;
  cost_lines: string;
  spare_parts: string;
}

export interface TimelineRow {
  id: number;
  case_id: string;
  at: number;
  actor: string;
  kind: string;
  message: string;
  status: string;
  severity: string;
}

export interface FreezeFrameRow {
  case_id: string;
  trigger_ts: number;
  rule_id: string;
  before: string;
  after: string;
  complete: number;
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`${what} is not JSON`);
  }
}

/** A case row as a SupportCase (without details), checked against the schema. */
export function caseFromRow(row: CaseRow): SupportCase {
  const costLines = parseJson(row.cost_lines, `case ${row.id} cost lines`);
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
    acknowledgedAt: row.acknowledged_at,
    resolvedAt: row.resolved_at,
    closedAt: row.closed_at,
    assignee: row.assignee,
    occurrences: row.occurrences,
    lastOccurrenceAt: row.last_occurrence_at,
    reopenedCount: row.reopened_count,
    evidence: parseJson(row.evidence, `case ${row.id} evidence`),
    warranty: row.warranty === null ? null : parseJson(row.warranty, `case ${row.id} warranty`),
    costLines,
    costTotals: [],
    spareParts: parseJson(row.spare_parts, `case ${row.id} spare parts`),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StoreCorruptError(`case ${row.id} does not match the SupportCase schema: ${issue?.path.join(".")}: ${issue?.message ?? "invalid"}`);
  }
  parsed.data.costTotals = costTotals(parsed.data.costLines);
  return parsed.data;
}

export function timelineFromRow(row: TimelineRow): TimelineEntry {
  return {
    id: row.id,
    caseId: row.case_id,
    at: row.at,
    actor: row.actor,
    kind: TimelineKind.parse(row.kind),
    message: row.message,
    status: CaseStatus.parse(row.status),
    severity: Severity.parse(row.severity),
  };
}

export function freezeFrameFromRow(row: FreezeFrameRow): FreezeFrame {
  return FreezeFrame.parse({
    triggerTs: row.trigger_ts,
    ruleId: row.rule_id,
    before: parseJson(row.before, `freeze frame of case ${row.case_id}`),
    after: parseJson(row.after, `freeze frame of case ${row.case_id}`),
    complete: row.complete === 1,
  });
}

type Column = string | number | null;
const json = (value: unknown): string => JSON.stringify(value);

/** Each changeable field: its column, and whether it is stored as JSON text. */
const CHANGE_COLUMNS: Readonly<Record<keyof CaseChanges, readonly [column: string, stored: "value" | "json"]>> = {
  severity: ["severity", "value"],
  status: ["status", "value"],
  updatedAt: ["updated_at", "value"],
  clearedAt: ["cleared_at", "value"],
  acknowledgedAt: ["acknowledged_at", "value"],
  resolvedAt: ["resolved_at", "value"],
  closedAt: ["closed_at", "value"],
  assignee: ["assignee", "value"],
  occurrences: ["occurrences", "value"],
  lastOccurrenceAt: ["last_occurrence_at", "value"],
  reopenedCount: ["reopened_count", "value"],
  evidence: ["evidence", "json"],
  warranty: ["warranty", "json"],
  costLines: ["cost_lines", "json"],
  spareParts: ["spare_parts", "json"],
};

function encodeChange(field: keyof CaseChanges, value: unknown): readonly [string, Column] {
  const [column, stored] = CHANGE_COLUMNS[field];
  if (value === null) return [column, null];
  if (stored === "json") return [column, json(value)];
  if (typeof value === "string" || typeof value === "number") return [column, value];
  throw new TypeError(`case field ${field} cannot be stored as ${typeof value}`);
}

/** Writes case plans and new freeze frames: only the columns a plan changes, each JSON field stringified once. */
export function createCaseWriter(db: Database.Database) {
  const insertCase = db.prepare<Column[]>(
    `INSERT INTO support_cases (id, site_id, pack_id, rule_id, title, opened_at, severity, status, updated_at, cleared_at, acknowledged_at,
       resolved_at, closed_at, assignee, occurrences, last_occurrence_at, reopened_count, evidence, warranty, cost_lines, spare_parts)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertTimeline = db.prepare<[string, number, string, string, string, string, string]>(
    "INSERT INTO case_timeline (case_id, at, actor, kind, message, status, severity) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const insertFreezeFrame = db.prepare<[string, number, string, string, string]>(
    "INSERT OR IGNORE INTO case_freeze_frames (case_id, trigger_ts, rule_id, firing_key, before, after, complete) VALUES (?, ?, ?, ?, ?, '[]', 0)",
  );
  // One statement per set of changed columns; plans change a handful of distinct sets.
  const updates = new Map<string, Database.Statement<Column[]>>();

  const update = (id: string, changes: CaseChanges) => {
    const pairs: (readonly [string, Column])[] = [];
    for (const field of Object.keys(changes) as (keyof CaseChanges)[]) {
      if (changes[field] !== undefined) pairs.push(encodeChange(field, changes[field]));
    }
    if (pairs.length === 0) return;
    const columns = pairs.map(([c]) => c).join(", ");
    let statement = updates.get(columns);
    if (!statement) {
      statement = db.prepare<Column[]>(`UPDATE support_cases SET ${pairs.map(([c]) => `${c} = ?`).join(", ")} WHERE id = ?`);
      updates.set(columns, statement);
    }
    statement.run(...pairs.map(([, v]) => v), id);
  };

  return {
    write(plan: CasePlan): void {
      const c = plan.case;
      if (plan.insert) {
        insertCase.run(
          c.id,
          c.siteId,
          c.packId,
          c.ruleId,
          c.title,
          c.openedAt,
          c.severity,
          c.status,
          c.updatedAt,
          c.clearedAt,
          c.acknowledgedAt,
          c.resolvedAt,
          c.closedAt,
          c.assignee,
          c.occurrences,
          c.lastOccurrenceAt,
          c.reopenedCount,
          json(c.evidence),
          c.warranty === null ? null : json(c.warranty),
          json(c.costLines),
          json(c.spareParts),
        );
      } else {
        update(c.id, plan.changes);
      }
      for (const e of plan.timeline) insertTimeline.run(e.caseId, e.at, e.actor, e.kind, e.message, e.status, e.severity);
    },
    startFreezeFrame(frame: NewFreezeFrame): void {
      insertFreezeFrame.run(frame.caseId, frame.triggerTs, frame.ruleId, frame.firingKey, json(frame.before));
    },
  };
}

export type CaseWriter = ReturnType<typeof createCaseWriter>;
