import type { CostLine, SupportCase, TimelineEntry } from "@bms/shared";

/** The fields of a case that change after it opened (identity, title and openedAt never do). */
export type CaseChanges = Partial<
  Pick<
    SupportCase,
    | "severity"
    | "status"
    | "updatedAt"
    | "clearedAt"
    | "acknowledgedAt"
    | "resolvedAt"
    | "closedAt"
    | "assignee"
    | "occurrences"
    | "lastOccurrenceAt"
    | "reopenedCount"
    | "evidence"
    | "warranty"
    | "costLines"
    | "spareParts"
  >
>;

/** A timeline entry to append; the store numbers it. `status` and `severity` are the case's after the change. */
export type TimelineDraft = Omit<TimelineEntry, "id">;

/** What one change does to one case. A store adapter writes it in the transaction that read the case. */
export interface CasePlan {
  /** The case after the change: what the caller gets back, without re-reading it. */
  case: SupportCase;
  /** True: a new case, inserted whole. False: update only the fields in `changes`. */
  insert: boolean;
  changes: CaseChanges;
  /** Oldest first. */
  timeline: TimelineDraft[];
}

/** What happened, in words: a timeline entry before the store knows the case's state after it. */
export interface TimelineNote {
  kind: TimelineEntry["kind"];
  actor: string;
  at: number;
  message: string;
}

/** Who the timeline names for what the rules did. */
export const RULES_ACTOR = "rules";

/** Money rounded to cents, as cost lines and their totals keep it. */
export function cents(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Per currency, what the company and the customer bear. */
export function costTotals(lines: readonly CostLine[]): SupportCase["costTotals"] {
  const totals = new Map<string, { currency: string; company: number; customer: number }>();
  for (const line of lines) {
    const total = totals.get(line.currency) ?? { currency: line.currency, company: 0, customer: 0 };
    total[line.bearer] = cents(total[line.bearer] + line.amount);
    totals.set(line.currency, total);
  }
  return [...totals.values()];
}

function drafts(c: SupportCase, notes: readonly TimelineNote[]): TimelineDraft[] {
  return notes.map((n) => ({ caseId: c.id, at: n.at, actor: n.actor, kind: n.kind, message: n.message, status: c.status, severity: c.severity }));
}

/** A change to an existing case; `updatedAt` never goes back (late firings, clocks apart). */
export function changeCase(before: SupportCase, changes: CaseChanges, notes: readonly TimelineNote[]): CasePlan {
  const after: SupportCase = { ...before, ...changes };
  if (changes.costLines) after.costTotals = costTotals(changes.costLines);
  return { case: after, insert: false, changes, timeline: drafts(after, notes) };
}

/** A case that does not exist yet. */
export function insertCase(created: SupportCase, notes: readonly TimelineNote[]): CasePlan {
  return { case: created, insert: true, changes: {}, timeline: drafts(created, notes) };
}

/** `updatedAt` after something happened at `at`. */
export function touched(c: SupportCase, at: number): number {
  return Math.max(c.updatedAt, at);
}
