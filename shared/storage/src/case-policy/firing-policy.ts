import { type CaseEvidence, type PackSample, type RuleFiring, type SupportCase, worseSeverity } from "@bms/shared";
import type { FiringInput, FiringOutcome } from "../case-store";
import { type CasePlan, changeCase, insertCase, RULES_ACTOR, type TimelineNote, touched } from "./case-plan";

/** rulesFired entries a case keeps (the newest). */
export const MAX_RULES_FIRED = 200;
/** BMS alarm codes a case keeps (the first seen). */
export const MAX_BMS_ALARMS = 64;

/**
 * What a store reads before planning a firing, in this order:
 * 1. the case the firing key was recorded on, if it was (then nothing else: a duplicate);
 * 2. `current`, the case of (site, pack, rule) that is not closed;
 * 3. what `firingReads(input, current)` names: the cases that are not closed of the explaining
 *    rules on the same pack (`hosts`), and the case of (site, pack, rule) closed most recently.
 */
export interface FiringFacts {
  recorded: SupportCase | null;
  current: SupportCase | null;
  hosts: readonly SupportCase[];
  lastClosed: SupportCase | null;
}

export interface FiringReads {
  /** Rule IDs whose not-closed case on the firing's pack may take it. */
  hosts: readonly string[];
  /** Whether to read the last closed case of (site, pack, rule), for a reopen. */
  lastClosed: boolean;
}

/** A freeze frame that starts with a new or reopened case. */
export interface NewFreezeFrame {
  caseId: string;
  firingKey: string;
  triggerTs: number;
  ruleId: string;
  before: readonly PackSample[];
}

export interface FiringPlan {
  outcome: FiringOutcome;
  /** The case's severity rose with this firing. */
  severityRaised: boolean;
  /** The case the firing was recorded on, as it is after it. */
  case: SupportCase;
  /** What to write; null for a duplicate (nothing changes, not even the firing ledger). */
  write: CasePlan | null;
  freezeFrame: NewFreezeFrame | null;
}

/** The reads step 3 needs: none when the current case takes the firing. */
export function firingReads(input: FiringInput, current: SupportCase | null): FiringReads {
  if (current && current.status !== "resolved") return { hosts: [], lastClosed: false };
  return { hosts: input.attachTo, lastClosed: current === null };
}

/** Adds the firing's own rulesFired entries (not its context) and BMS codes to a case's evidence. */
export function mergeEvidence(existing: CaseEvidence, incoming: CaseEvidence, role: RuleFiring["role"]): CaseEvidence {
  const alarms = [...existing.bmsAlarms];
  for (const code of incoming.bmsAlarms) if (!alarms.includes(code)) alarms.push(code);
  const own = incoming.rulesFired.filter((f) => f.role === "case").map((f) => ({ ...f, role }));
  return { ...existing, bmsAlarms: alarms.slice(0, MAX_BMS_ALARMS), rulesFired: [...existing.rulesFired, ...own].slice(-MAX_RULES_FIRED) };
}

const byRules = (at: number, kind: TimelineNote["kind"], message: string): TimelineNote => ({ kind, actor: RULES_ACTOR, at, message });

/**
 * The case policy for a rule firing: one case per (site, pack, rule) that is not closed. The
 * current case counts an occurrence (or escalates: a worse level of the same episode); a firing
 * that another rule's case explains is evidence there; a resolved case, or one closed within
 * `reopenWithinMs`, reopens; otherwise a case opens. Severity only rises.
 */
export function planFiring(input: FiringInput, facts: FiringFacts, newId: () => string): FiringPlan {
  if (facts.recorded) return { outcome: "duplicate", severityRaised: false, case: facts.recorded, write: null, freezeFrame: null };
  const { at, evidence } = input;
  const detail = evidence.detail;
  const frameFor = (caseId: string): NewFreezeFrame | null =>
    input.freezeFrameBefore ? { caseId, firingKey: input.firingKey, triggerTs: at, ruleId: input.ruleId, before: input.freezeFrameBefore } : null;
  const planned = (outcome: FiringOutcome, severityRaised: boolean, write: CasePlan, freezeFrame: NewFreezeFrame | null = null): FiringPlan => ({
    outcome,
    severityRaised,
    case: write.case,
    write,
    freezeFrame,
  });
  const sameKey = (c: SupportCase) => c.siteId === input.siteId && c.packId === input.packId;

  const { current } = facts;
  if (current && current.status !== "resolved") {
    const severity = worseSeverity(current.severity, input.severity);
    const raised = severity !== current.severity;
    const merged = mergeEvidence(current.evidence, evidence, "case");
    if (input.escalation) {
      const notes = [byRules(at, "escalated", `Reached ${input.severity}: ${detail}`)];
      return planned("escalated", raised, changeCase(current, { severity, updatedAt: touched(current, at), evidence: merged }, notes));
    }
    const notes = [byRules(at, "occurrence", `Fired again (${input.severity}): ${detail}`)];
    if (raised) notes.push(byRules(at, "escalated", `Escalated to ${severity}.`));
    const changes = {
      severity,
      occurrences: current.occurrences + 1,
      lastOccurrenceAt: Math.max(current.lastOccurrenceAt, at),
      updatedAt: touched(current, at),
      clearedAt: null,
      evidence: merged,
      warranty: input.warranty ?? current.warranty,
    };
    return planned("occurrence", raised, changeCase(current, changes, notes));
  }

  for (const explainer of input.attachTo) {
    const host = facts.hosts.find((h) => sameKey(h) && h.ruleId === explainer && h.status !== "closed");
    if (!host || host.status === "resolved") continue;
    // Evidence for the case that explains it; the host keeps its own severity.
    const message = `${input.title} (${input.ruleId}, ${input.severity}) fired, explained by this case: ${detail}`;
    const write = changeCase(host, { updatedAt: touched(host, at), evidence: mergeEvidence(host.evidence, evidence, "related") }, [
      byRules(at, "related", message),
    ]);
    return planned("attached", false, write);
  }

  const closed = facts.lastClosed;
  const closedRecently =
    closed && sameKey(closed) && closed.ruleId === input.ruleId && closed.status === "closed" && (closed.closedAt ?? 0) >= at - input.reopenWithinMs;
  const reopen = current ?? (closedRecently ? closed : null);
  if (reopen) {
    const severity = worseSeverity(reopen.severity, input.severity);
    const changes = {
      status: "open" as const,
      severity,
      occurrences: reopen.occurrences + 1,
      reopenedCount: reopen.reopenedCount + 1,
      lastOccurrenceAt: Math.max(reopen.lastOccurrenceAt, at),
      updatedAt: touched(reopen, at),
      clearedAt: null,
      acknowledgedAt: null,
      resolvedAt: null,
      closedAt: null,
      evidence: mergeEvidence(reopen.evidence, evidence, "case"),
      warranty: input.warranty ?? reopen.warranty,
    };
    const notes = [byRules(at, "reopened", `Reopened: the fault returned after the case was ${reopen.status} (${input.severity}): ${detail}`)];
    return planned("reopened", severity !== reopen.severity, changeCase(reopen, changes, notes), frameFor(reopen.id));
  }

  const opened: SupportCase = {
    id: newId(),
    siteId: input.siteId,
    packId: input.packId,
    ruleId: input.ruleId,
    severity: input.severity,
    status: "open",
    title: input.title,
    openedAt: at,
    updatedAt: at,
    clearedAt: null,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    assignee: null,
    occurrences: 1,
    lastOccurrenceAt: at,
    reopenedCount: 0,
    evidence,
    warranty: input.warranty,
    costLines: [],
    costTotals: [],
    spareParts: [],
  };
  return planned("opened", false, insertCase(opened, [byRules(at, "opened", `Opened (${input.severity}): ${detail}`)]), frameFor(opened.id));
}
