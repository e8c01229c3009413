import type Database from "better-sqlite3";
import type { CasePlan, NewFreezeFrame } from "./case-policy";
import { CASE_COLUMNS, type Column, caseValues, changedColumns } from "./case-rows";

/** Writes case plans and new freeze frames to cases.db: only the columns a plan changes, each JSON field stringified once. */
export function createCaseWriter(db: Database.Database) {
  const insertCase = db.prepare<Column[]>(`INSERT INTO support_cases (${CASE_COLUMNS.join(", ")}) VALUES (${CASE_COLUMNS.map(() => "?").join(", ")})`);
  const insertTimeline = db.prepare<[string, number, string, string, string, string, string]>(
    "INSERT INTO case_timeline (case_id, at, actor, kind, message, status, severity) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const insertFreezeFrame = db.prepare<[string, number, string, string, string]>(
    "INSERT OR IGNORE INTO case_freeze_frames (case_id, trigger_ts, rule_id, firing_key, before, after, complete) VALUES (?, ?, ?, ?, ?, '[]', 0)",
  );
  // One statement per set of changed columns; plans change a handful of distinct sets.
  const updates = new Map<string, Database.Statement<Column[]>>();

  const update = (id: string, pairs: readonly (readonly [string, Column])[]) => {
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
      if (plan.insert) insertCase.run(...caseValues(plan.case));
      else update(plan.case.id, changedColumns(plan.changes));
      for (const e of plan.timeline) insertTimeline.run(e.caseId, e.at, e.actor, e.kind, e.message, e.status, e.severity);
    },
    startFreezeFrame(frame: NewFreezeFrame): void {
      insertFreezeFrame.run(frame.caseId, frame.triggerTs, frame.ruleId, frame.firingKey, JSON.stringify(frame.before));
    },
  };
}

export type CaseWriter = ReturnType<typeof createCaseWriter>;
