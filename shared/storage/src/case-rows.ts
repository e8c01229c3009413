import { CaseStatus, FreezeFrame, Severity, SupportCase, type TimelineEntry, TimelineKind } from "@bms/shared";
import { type CaseChanges, costTotals } from "./case-policy";
import type { OpenFreezeFrame } from "./case-store";
import type { PackStateRow } from "./rule-ledger";
import { StoreCorruptError } from "./storage-errors";

// How cases, timeline entries and freeze frames are rows, both ways: the same columns in SQLite and
// PostgreSQL (times as integers, JSON documents as text).

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
  /** 1/0 in SQLite, a boolean in PostgreSQL. */
  complete: number | boolean;
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`${what} is not JSON`);
  }
}

/** A freeze frame still collecting, with its case's pack (the query's columns). */
export interface OpenFrameRow {
  case_id: string;
  site_id: string;
  pack_id: string;
  trigger_ts: number;
  firing_key: string;
  after_count: number;
}

export function openFrameFromRow(r: OpenFrameRow): OpenFreezeFrame {
  return { caseId: r.case_id, siteId: r.site_id, packId: r.pack_id, triggerTs: r.trigger_ts, after: r.after_count, firingKey: r.firing_key };
}

/** A saved pack state as the rule engine gets it back. */
export function packStateFromRow(row: { site_id: string; pack_id: string; state: string }): PackStateRow {
  return { siteId: row.site_id, packId: row.pack_id, state: parseJson(row.state, `pack state of ${row.site_id}/${row.pack_id}`) };
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
    complete: row.complete === 1 || row.complete === true,
  });
}

export type Column = string | number | null;
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

/** The changed columns of a plan and their values, JSON fields stringified once. */
export function changedColumns(changes: CaseChanges): (readonly [string, Column])[] {
  const pairs: (readonly [string, Column])[] = [];
  for (const field of Object.keys(changes) as (keyof CaseChanges)[]) {
    if (changes[field] !== undefined) pairs.push(encodeChange(field, changes[field]));
  }
  return pairs;
}

/** The columns of a new case, in the order of `caseValues`. */
export const CASE_COLUMNS = [
  "id",
  "site_id",
  "pack_id",
  "rule_id",
  "title",
  "opened_at",
  "severity",
  "status",
  "updated_at",
  "cleared_at",
  "acknowledged_at",
  "resolved_at",
  "closed_at",
  "assignee",
  "occurrences",
  "last_occurrence_at",
  "reopened_count",
  "evidence",
  "warranty",
  "cost_lines",
  "spare_parts",
] as const;

/** A new case's values, in the order of CASE_COLUMNS. */
export function caseValues(c: SupportCase): Column[] {
  return [
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
  ];
}
