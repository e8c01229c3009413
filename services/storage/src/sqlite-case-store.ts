import { randomUUID } from "node:crypto";
import {
  Actor,
  CASE_TRANSITIONS,
  CaseAssignee,
  CaseEvidence,
  CaseNoteText,
  CaseStatus,
  type CostLine,
  CostLineInput,
  EpochMs,
  FreezeFrame,
  Id,
  type PackCaseRollup,
  PackSample,
  type RuleFiring,
  RuleId,
  SEVERITY_RANK,
  Severity,
  type SparePart,
  SparePartInput,
  SupportCase,
  type TimelineEntry,
  TimelineKind,
  WarrantyAssessment,
  worseSeverity,
} from "@bms/shared";
import type Database from "better-sqlite3";
import { z } from "zod";
import type { CaseFilter, CaseStore, FiringInput, FiringOutcome, FiringResult, OpenFreezeFrame } from "./case-store";
import { openSqliteDatabase } from "./sqlite-database";
import { CaseTransitionError, StoreCorruptError, StoreInputError } from "./storage-errors";

/** Largest page `list` returns. */
export const MAX_CASE_LIST_LIMIT = 10_000;
const DEFAULT_CASE_LIST_LIMIT = 100;
/** rulesFired entries kept per case (the newest). */
const MAX_RULES_FIRED = 200;
/** Samples kept per side of a freeze frame. */
const MAX_FREEZE_FRAME_SAMPLES = 10_000;
/** Closed cases a roll-up lists besides the ones that are not closed. */
const ROLLUP_CLOSED_KEPT = 20;
/** Who the timeline names for what the rules did. */
export const RULES_ACTOR = "rules";

const FiringInputSchema = z.object({
  siteId: Id,
  packId: Id,
  ruleId: RuleId,
  severity: Severity,
  title: z.string().max(1000),
  at: EpochMs,
  firingKey: z.string().min(1).max(512),
  escalation: z.boolean(),
  evidence: CaseEvidence,
  warranty: WarrantyAssessment.nullable(),
  attachTo: z.array(RuleId).max(32),
  reopenWithinMs: z.number().min(0),
  freezeFrameBefore: z.array(PackSample).max(MAX_FREEZE_FRAME_SAMPLES).optional(),
});
type ParsedFiring = z.output<typeof FiringInputSchema>;

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

interface TimelineRow {
  id: number;
  case_id: string;
  at: number;
  actor: string;
  kind: string;
  message: string;
  status: string;
  severity: string;
}

interface FreezeFrameRow {
  case_id: string;
  trigger_ts: number;
  rule_id: string;
  before: string;
  after: string;
  complete: number;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`${what} is not JSON`);
  }
}

function fail(what: string, error: z.ZodError): never {
  const issue = error.issues[0];
  throw new StoreInputError(`${what}: ${issue?.path.join(".") || "(input)"}: ${issue?.message ?? "invalid"}`);
}

function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) fail(what, parsed.error);
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
function newId(): string {
  return Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function costTotals(lines: readonly CostLine[]): SupportCase["costTotals"] {
  const totals = new Map<string, { currency: string; company: number; customer: number }>();
  for (const line of lines) {
    const total = totals.get(line.currency) ?? { currency: line.currency, company: 0, customer: 0 };
    total[line.bearer] = round2(total[line.bearer] + line.amount);
    totals.set(line.currency, total);
  }
  return [...totals.values()];
}

/** Adds the firing's own rulesFired entries (not its context) and BMS codes to a case's evidence. */
function mergeEvidence(existing: CaseEvidence, incoming: CaseEvidence, role: RuleFiring["role"]): CaseEvidence {
  const alarms = [...existing.bmsAlarms];
  for (const code of incoming.bmsAlarms) if (!alarms.includes(code)) alarms.push(code);
  const own = incoming.rulesFired.filter((f) => f.role === "case").map((f) => ({ ...f, role }));
  return { ...existing, bmsAlarms: alarms.slice(0, 64), rulesFired: [...existing.rulesFired, ...own].slice(-MAX_RULES_FIRED) };
}

const V1_STATUS_MAP = "CASE status WHEN 'closed' THEN 'closed' WHEN 'acknowledged' THEN 'acknowledged' ELSE 'open' END";

/** The support-case tables; a v1 `cases` table (the first case store) is carried over and dropped. */
function createCaseTables(db: Database.Database): void {
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
 * A CaseStore in a SQLite file that the ingestion (rules) and the live service (engineers) share.
 * "One case per (site, pack, rule) that is not closed" is a partial unique index, so it holds
 * across processes; every write is one IMMEDIATE transaction.
 */
export function openSqliteCaseStore(file: string): CaseStore {
  const db = openSqliteDatabase(file, createCaseTables);

  const selectById = db.prepare<[string], CaseRow>("SELECT * FROM support_cases WHERE id = ?");
  const selectCurrent = db.prepare<[string, string, string], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND rule_id = ? AND status <> 'closed'",
  );
  const selectLastClosed = db.prepare<[string, string, string, number], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND rule_id = ? AND status = 'closed' AND closed_at >= ? ORDER BY closed_at DESC LIMIT 1",
  );
  const selectFiring = db.prepare<[string], { case_id: string }>("SELECT case_id FROM case_firings WHERE firing_key = ?");
  const insertFiring = db.prepare<[string, string, string, number]>("INSERT INTO case_firings (firing_key, case_id, outcome, at) VALUES (?, ?, ?, ?)");
  const insertCase = db.prepare<[string, string, string, string, string, string, number, number, number, string, string | null]>(
    `INSERT INTO support_cases (id, site_id, pack_id, rule_id, severity, status, title, opened_at, updated_at, cleared_at, acknowledged_at,
       resolved_at, closed_at, assignee, occurrences, last_occurrence_at, reopened_count, evidence, warranty)
     VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, NULL, NULL, NULL, NULL, NULL, 1, ?, 0, ?, ?)`,
  );
  const updateOccurrence = db.prepare<[string, number, number, string, string | null, string]>(
    `UPDATE support_cases SET severity = ?, occurrences = occurrences + 1, last_occurrence_at = max(last_occurrence_at, ?),
       updated_at = max(updated_at, ?), cleared_at = NULL, evidence = ?, warranty = coalesce(?, warranty) WHERE id = ?`,
  );
  const updateSeverityEvidence = db.prepare<[string, number, string, string]>(
    "UPDATE support_cases SET severity = ?, updated_at = max(updated_at, ?), evidence = ? WHERE id = ?",
  );
  const reopenCase = db.prepare<[string, number, number, string, string | null, string]>(
    `UPDATE support_cases SET status = 'open', severity = ?, occurrences = occurrences + 1, reopened_count = reopened_count + 1,
       last_occurrence_at = max(last_occurrence_at, ?), updated_at = max(updated_at, ?), cleared_at = NULL, acknowledged_at = NULL,
       resolved_at = NULL, closed_at = NULL, evidence = ?, warranty = coalesce(?, warranty) WHERE id = ?`,
  );
  const setCleared = db.prepare<[number, number, string]>("UPDATE support_cases SET cleared_at = ?, updated_at = max(updated_at, ?) WHERE id = ?");
  const setStatus = db.prepare<[string, number, number | null, number | null, number | null, string]>(
    `UPDATE support_cases SET status = ?, updated_at = max(updated_at, ?), acknowledged_at = coalesce(acknowledged_at, ?),
       resolved_at = ?, closed_at = ? WHERE id = ?`,
  );
  const setAssignee = db.prepare<[string | null, number, string]>("UPDATE support_cases SET assignee = ?, updated_at = max(updated_at, ?) WHERE id = ?");
  const touch = db.prepare<[number, string]>("UPDATE support_cases SET updated_at = max(updated_at, ?) WHERE id = ?");
  const setCostLines = db.prepare<[string, number, string]>("UPDATE support_cases SET cost_lines = ?, updated_at = max(updated_at, ?) WHERE id = ?");
  const setSpareParts = db.prepare<[string, number, string]>("UPDATE support_cases SET spare_parts = ?, updated_at = max(updated_at, ?) WHERE id = ?");
  const insertTimeline = db.prepare<[string, number, string, string, string, string, string]>(
    "INSERT INTO case_timeline (case_id, at, actor, kind, message, status, severity) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const selectTimeline = db.prepare<[string], TimelineRow>("SELECT * FROM case_timeline WHERE case_id = ? ORDER BY id");
  const selectLatestTimeline = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM case_timeline");
  const selectTimelineSince = db.prepare<[number, number], TimelineRow>("SELECT * FROM case_timeline WHERE id > ? ORDER BY id LIMIT ?");
  const insertFreezeFrame = db.prepare<[string, number, string, string]>(
    "INSERT OR IGNORE INTO case_freeze_frames (case_id, trigger_ts, rule_id, before, after, complete) VALUES (?, ?, ?, ?, '[]', 0)",
  );
  const selectFreezeFrame = db.prepare<[string, number], FreezeFrameRow>("SELECT * FROM case_freeze_frames WHERE case_id = ? AND trigger_ts = ?");
  const selectFreezeFrames = db.prepare<[string], FreezeFrameRow>("SELECT * FROM case_freeze_frames WHERE case_id = ? ORDER BY trigger_ts");
  const updateFreezeFrame = db.prepare<[string, number, string, number]>(
    "UPDATE case_freeze_frames SET after = ?, complete = ? WHERE case_id = ? AND trigger_ts = ?",
  );
  const selectOpenFrames = db.prepare<[], { case_id: string; site_id: string; pack_id: string; trigger_ts: number; after_count: number }>(
    `SELECT f.case_id, c.site_id, c.pack_id, f.trigger_ts, json_array_length(f.after) AS after_count
     FROM case_freeze_frames f JOIN support_cases c ON c.id = f.case_id WHERE f.complete = 0`,
  );
  const selectRelated = db.prepare<[string, string, string], { id: string }>(
    "SELECT id FROM support_cases WHERE site_id = ? AND pack_id = ? AND status <> 'closed' AND id <> ? ORDER BY opened_at DESC",
  );
  const selectPackActive = db.prepare<[string, string], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND status <> 'closed' ORDER BY opened_at DESC",
  );
  const selectPackClosed = db.prepare<[string, string, number], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND status = 'closed' ORDER BY closed_at DESC LIMIT ?",
  );

  const timelineEntry = (row: TimelineRow): TimelineEntry => ({
    id: row.id,
    caseId: row.case_id,
    at: row.at,
    actor: row.actor,
    kind: TimelineKind.parse(row.kind),
    message: row.message,
    status: CaseStatus.parse(row.status),
    severity: Severity.parse(row.severity),
  });

  const freezeFrame = (row: FreezeFrameRow) =>
    FreezeFrame.parse({
      triggerTs: row.trigger_ts,
      ruleId: row.rule_id,
      before: parseJson(row.before, `freeze frame of case ${row.case_id}`),
      after: parseJson(row.after, `freeze frame of case ${row.case_id}`),
      complete: row.complete === 1,
    });

  function fromRow(row: CaseRow, details = false): SupportCase {
    const costLines = parseJson(row.cost_lines, `case ${row.id} cost lines`) as CostLine[];
    const candidate: Record<string, unknown> = {
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
      costTotals: Array.isArray(costLines) ? costTotals(costLines) : [],
      spareParts: parseJson(row.spare_parts, `case ${row.id} spare parts`),
    };
    if (details) {
      candidate.freezeFrames = selectFreezeFrames.all(row.id).map(freezeFrame);
      candidate.timeline = selectTimeline.all(row.id).map(timelineEntry);
      candidate.relatedCaseIds = selectRelated.all(row.site_id, row.pack_id, row.id).map((r) => r.id);
    }
    const parsed = SupportCase.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StoreCorruptError(`case ${row.id} does not match the SupportCase schema: ${issue?.path.join(".")}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data;
  }

  const note = (row: { id: string }, at: number, actor: string, kind: TimelineEntry["kind"], message: string) => {
    const now = selectById.get(row.id);
    if (!now) throw new StoreCorruptError(`case ${row.id} vanished inside its own transaction`);
    insertTimeline.run(row.id, at, actor, kind, message, now.status, now.severity);
  };

  const evidenceOf = (row: CaseRow) => CaseEvidence.parse(parseJson(row.evidence, `case ${row.id} evidence`));
  const detailOf = (input: ParsedFiring) => input.evidence.detail;
  const json = (value: unknown) => JSON.stringify(value);

  const recordFiringTx = db.transaction((input: ParsedFiring): { id: string; outcome: FiringOutcome; raised: boolean } => {
    const seen = selectFiring.get(input.firingKey);
    if (seen) return { id: seen.case_id, outcome: "duplicate", raised: false };
    const warranty = input.warranty === null ? null : json(input.warranty);
    const finish = (id: string, outcome: FiringOutcome, raised: boolean) => {
      insertFiring.run(input.firingKey, id, outcome, input.at);
      return { id, outcome, raised };
    };
    const addFreezeFrame = (id: string) => {
      if (input.freezeFrameBefore) insertFreezeFrame.run(id, input.at, input.ruleId, json(input.freezeFrameBefore));
    };

    const current = selectCurrent.get(input.siteId, input.packId, input.ruleId);
    if (current && current.status !== "resolved") {
      const severity = worseSeverity(current.severity as z.infer<typeof Severity>, input.severity);
      const raised = severity !== current.severity;
      const evidence = json(mergeEvidence(evidenceOf(current), input.evidence, "case"));
      if (input.escalation) {
        updateSeverityEvidence.run(severity, input.at, evidence, current.id);
        note(current, input.at, RULES_ACTOR, "escalated", `Reached ${input.severity}: ${detailOf(input)}`);
        return finish(current.id, "escalated", raised);
      }
      updateOccurrence.run(severity, input.at, input.at, evidence, warranty, current.id);
      note(current, input.at, RULES_ACTOR, "occurrence", `Fired again (${input.severity}): ${detailOf(input)}`);
      if (raised) note(current, input.at, RULES_ACTOR, "escalated", `Escalated to ${severity}.`);
      return finish(current.id, "occurrence", raised);
    }

    for (const explainer of input.attachTo) {
      const host = selectCurrent.get(input.siteId, input.packId, explainer);
      if (!host || host.status === "resolved") continue;
      // Evidence for the case that explains it; the host keeps its own severity.
      updateSeverityEvidence.run(host.severity, input.at, json(mergeEvidence(evidenceOf(host), input.evidence, "related")), host.id);
      note(host, input.at, RULES_ACTOR, "related", `${input.title} (${input.ruleId}, ${input.severity}) fired, explained by this case: ${detailOf(input)}`);
      return finish(host.id, "attached", false);
    }

    const reopen = current ?? selectLastClosed.get(input.siteId, input.packId, input.ruleId, input.at - input.reopenWithinMs);
    if (reopen) {
      const severity = worseSeverity(reopen.severity as z.infer<typeof Severity>, input.severity);
      const evidence = json(mergeEvidence(evidenceOf(reopen), input.evidence, "case"));
      reopenCase.run(severity, input.at, input.at, evidence, warranty, reopen.id);
      note(
        reopen,
        input.at,
        RULES_ACTOR,
        "reopened",
        `Reopened: the fault returned after the case was ${reopen.status} (${input.severity}): ${detailOf(input)}`,
      );
      addFreezeFrame(reopen.id);
      return finish(reopen.id, "reopened", severity !== reopen.severity);
    }

    const id = newId();
    insertCase.run(id, input.siteId, input.packId, input.ruleId, input.severity, input.title, input.at, input.at, input.at, json(input.evidence), warranty);
    note({ id }, input.at, RULES_ACTOR, "opened", `Opened (${input.severity}): ${detailOf(input)}`);
    addFreezeFrame(id);
    return finish(id, "opened", false);
  });

  const markClearedTx = db.transaction((siteId: string, packId: string, ruleId: string, at: number) => {
    const current = selectCurrent.get(siteId, packId, ruleId);
    if (!current || current.cleared_at !== null) return null;
    setCleared.run(at, at, current.id);
    note(current, at, RULES_ACTOR, "cleared", "The condition cleared; the case stays open for an engineer.");
    return current.id;
  });

  const transitionTx = db.transaction((id: string, to: CaseStatus, actor: string, at: number, text: string | undefined) => {
    const row = selectById.get(id);
    if (!row) return null;
    const from = checkStatus(row.status);
    const allowed = CASE_TRANSITIONS[from];
    if (!allowed.includes(to)) throw new CaseTransitionError(id, from, to, allowed);
    const resolvedAt = to === "resolved" ? at : to === "closed" ? row.resolved_at : null;
    setStatus.run(to, at, to === "acknowledged" ? at : null, resolvedAt, to === "closed" ? at : null, id);
    note(row, at, actor, "status", `${from} → ${to}${text ? `: ${text}` : ""}`);
    return id;
  });

  const assignTx = db.transaction((id: string, assignee: string | null, actor: string, at: number) => {
    const row = selectById.get(id);
    if (!row) return null;
    setAssignee.run(assignee, at, id);
    note(row, at, actor, "assigned", assignee === null ? "Unassigned." : `Assigned to ${assignee}.`);
    return id;
  });

  const noteTx = db.transaction((id: string, text: string, actor: string, at: number) => {
    const row = selectById.get(id);
    if (!row) return null;
    touch.run(at, id);
    note(row, at, actor, "note", text);
    return id;
  });

  const costLineTx = db.transaction((id: string, input: z.output<typeof CostLineInput>, actor: string, at: number) => {
    const row = selectById.get(id);
    if (!row) return null;
    const supportCase = fromRow(row);
    const suggestion = supportCase.warranty?.suggestion;
    const bearer = input.bearer ?? (suggestion === "free" ? "company" : suggestion === "chargeable" ? "customer" : undefined);
    if (bearer === undefined) {
      throw new StoreInputError("bearer: the warranty could not be assessed for this case (no warranty dates): say who bears this cost (company or customer)");
    }
    const line: CostLine = {
      id: newId(),
      category: input.category,
      description: input.description,
      quantity: input.quantity,
      unitPrice: input.unitPrice,
      currency: input.currency,
      amount: round2(input.quantity * input.unitPrice),
      bearer,
      addedBy: actor,
      addedAt: at,
    };
    setCostLines.run(json([...supportCase.costLines, line]), at, id);
    const what = `${line.category}: ${line.quantity} × ${line.unitPrice.toFixed(2)} ${line.currency} = ${line.amount.toFixed(2)} ${line.currency}, borne by the ${line.bearer}`;
    note(row, at, actor, "cost-line", line.description ? `${what} (${line.description})` : what);
    return id;
  });

  const sparePartTx = db.transaction((id: string, input: z.output<typeof SparePartInput>, actor: string, at: number) => {
    const row = selectById.get(id);
    if (!row) return null;
    const supportCase = fromRow(row);
    const bmsVersion = input.bmsVersion ?? supportCase.evidence.meta?.bmsFirmware;
    if (!bmsVersion) throw new StoreInputError("bmsVersion: the pack's BMS firmware is not known for this case: say which BMS version the part must fit");
    const part: SparePart = {
      id: newId(),
      part: input.part,
      description: input.description,
      quantity: input.quantity,
      bmsVersion,
      addedBy: actor,
      addedAt: at,
    };
    setSpareParts.run(json([...supportCase.spareParts, part]), at, id);
    note(
      row,
      at,
      actor,
      "spare-part",
      `Spare part requested: ${part.quantity} × ${part.part} for BMS ${part.bmsVersion}${part.description ? ` (${part.description})` : ""}`,
    );
    return id;
  });

  const appendFreezeFrameTx = db.transaction((caseId: string, triggerTs: number, after: readonly PackSample[], complete: boolean) => {
    const row = selectFreezeFrame.get(caseId, triggerTs);
    if (!row) return;
    const kept = [...(parseJson(row.after, `freeze frame of case ${caseId}`) as PackSample[]), ...after].slice(0, MAX_FREEZE_FRAME_SAMPLES);
    updateFreezeFrame.run(json(kept), complete ? 1 : 0, caseId, triggerTs);
  });

  const readCase = (id: string, details = false): SupportCase => {
    const row = selectById.get(id);
    if (!row) throw new StoreCorruptError(`case ${id} vanished inside its own transaction`);
    return fromRow(row, details);
  };
  const readOrNull = (id: string | null) => (id === null ? null : readCase(id));
  const actorOf = (actor: string) => checked(Actor, actor, "actor");

  return {
    async recordFiring(input: FiringInput): Promise<FiringResult> {
      const parsed = checked(FiringInputSchema, input, "cannot record a rule firing");
      // IMMEDIATE takes the write lock before reading, so two processes cannot both see "no case".
      const { id, outcome, raised } = recordFiringTx.immediate(parsed);
      return { case: readCase(id), outcome, severityRaised: raised };
    },
    async markCleared(siteId, packId, ruleId, at) {
      checkAt(at, "markCleared");
      return readOrNull(markClearedTx.immediate(siteId, packId, ruleId, at));
    },
    async appendFreezeFrame(caseId, triggerTs, after, complete) {
      const samples = checked(z.array(PackSample).max(MAX_FREEZE_FRAME_SAMPLES), after, "freeze frame samples");
      appendFreezeFrameTx.immediate(caseId, triggerTs, samples, complete);
    },
    async openFreezeFrames(): Promise<OpenFreezeFrame[]> {
      return selectOpenFrames.all().map((r) => ({ caseId: r.case_id, siteId: r.site_id, packId: r.pack_id, triggerTs: r.trigger_ts, after: r.after_count }));
    },
    async transition(id, to, actor, at, text) {
      checkAt(at, "transition");
      const reason = text === undefined ? undefined : checked(CaseNoteText, text, "note");
      return readOrNull(transitionTx.immediate(id, checkStatus(to), actorOf(actor), at, reason));
    },
    async assign(id, assignee, actor, at) {
      checkAt(at, "assign");
      return readOrNull(assignTx.immediate(id, checked(CaseAssignee, assignee, "assignee"), actorOf(actor), at));
    },
    async addNote(id, text, actor, at) {
      checkAt(at, "addNote");
      return readOrNull(noteTx.immediate(id, checked(CaseNoteText, text, "note"), actorOf(actor), at));
    },
    async addCostLine(id, line: CostLineInput, actor, at) {
      checkAt(at, "addCostLine");
      return readOrNull(costLineTx.immediate(id, checked(CostLineInput, line, "cost line"), actorOf(actor), at));
    },
    async addSparePart(id, part: SparePartInput, actor, at) {
      checkAt(at, "addSparePart");
      return readOrNull(sparePartTx.immediate(id, checked(SparePartInput, part, "spare part"), actorOf(actor), at));
    },
    async get(id, options = {}) {
      const row = selectById.get(id);
      return row ? fromRow(row, options.details === true) : null;
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
        .map((row) => fromRow(row));
    },
    async rollup(siteId, packId): Promise<PackCaseRollup> {
      const active = selectPackActive.all(siteId, packId).map((row) => fromRow(row));
      const closed = selectPackClosed.all(siteId, packId, ROLLUP_CLOSED_KEPT).map((row) => fromRow(row));
      let worst: z.infer<typeof Severity> | null = null;
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
      return selectTimelineSince.all(afterId, limit).map(timelineEntry);
    },
    async latestTimelineId() {
      return selectLatestTimeline.get()?.id ?? 0;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
