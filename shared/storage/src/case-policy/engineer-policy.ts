import {
  type BmsHistoryEvidence,
  CASE_TRANSITIONS,
  type CaptureEvidence,
  type CaseStatus,
  type CommandStatus,
  type CostLine,
  type CostLineInput,
  type SparePart,
  type SparePartInput,
  type SupportCase,
} from "@bms/shared";
import type { z } from "zod";
import { CaseTransitionError, StoreInputError } from "../storage-errors";
import { withBmsLog } from "./bms-log-policy";
import { mergeCapture } from "./capture-policy";
import { type CasePlan, cents, changeCase, touched } from "./case-plan";

/** The after-sales process (CASE_TRANSITIONS): an engineer moves a case; anything else is a CaseTransitionError. */
export function planTransition(c: SupportCase, to: CaseStatus, actor: string, at: number, note?: string): CasePlan {
  const allowed = CASE_TRANSITIONS[c.status];
  if (!allowed.includes(to)) throw new CaseTransitionError(c.id, c.status, to, allowed);
  const changes = {
    status: to,
    updatedAt: touched(c, at),
    acknowledgedAt: c.acknowledgedAt ?? (to === "acknowledged" ? at : null),
    // Closing keeps when it was resolved; any other move (a fix that did not hold) forgets it.
    resolvedAt: to === "resolved" ? at : to === "closed" ? c.resolvedAt : null,
    closedAt: to === "closed" ? at : null,
  };
  return changeCase(c, changes, [{ kind: "status", actor, at, message: `${c.status} → ${to}${note ? `: ${note}` : ""}` }]);
}

/** null unassigns. */
export function planAssign(c: SupportCase, assignee: string | null, actor: string, at: number): CasePlan {
  const message = assignee === null ? "Unassigned." : `Assigned to ${assignee}.`;
  return changeCase(c, { assignee, updatedAt: touched(c, at) }, [{ kind: "assigned", actor, at, message }]);
}

export function planNote(c: SupportCase, text: string, actor: string, at: number): CasePlan {
  return changeCase(c, { updatedAt: touched(c, at) }, [{ kind: "note", actor, at, message: text }]);
}

/**
 * A cost line: amount = quantity × price in cents; who bears it defaults from the warranty
 * suggestion (free → company, chargeable → customer) and must be given when it is `review` or
 * there is no assessment.
 */
export function planCostLine(c: SupportCase, input: z.output<typeof CostLineInput>, actor: string, at: number, id: string): CasePlan {
  const suggestion = c.warranty?.suggestion;
  const bearer = input.bearer ?? (suggestion === "free" ? "company" : suggestion === "chargeable" ? "customer" : undefined);
  if (bearer === undefined) {
    throw new StoreInputError("bearer: the warranty could not be assessed for this case (no warranty dates): say who bears this cost (company or customer)");
  }
  const line: CostLine = {
    id,
    category: input.category,
    description: input.description,
    quantity: input.quantity,
    unitPrice: input.unitPrice,
    currency: input.currency,
    amount: cents(input.quantity * input.unitPrice),
    bearer,
    addedBy: actor,
    addedAt: at,
  };
  const what = `${line.category}: ${line.quantity} × ${line.unitPrice.toFixed(2)} ${line.currency} = ${line.amount.toFixed(2)} ${line.currency}, borne by the ${line.bearer}`;
  return changeCase(c, { costLines: [...c.costLines, line], updatedAt: touched(c, at) }, [
    { kind: "cost-line", actor, at, message: line.description ? `${what} (${line.description})` : what },
  ]);
}

/** A spare part; the BMS version it must fit defaults to the pack's firmware in the case evidence. */
export function planSparePart(c: SupportCase, input: z.output<typeof SparePartInput>, actor: string, at: number, id: string): CasePlan {
  const bmsVersion = input.bmsVersion ?? c.evidence.meta?.bmsFirmware;
  if (!bmsVersion) throw new StoreInputError("bmsVersion: the pack's BMS firmware is not known for this case: say which BMS version the part must fit");
  const part: SparePart = {
    id,
    part: input.part,
    description: input.description,
    quantity: input.quantity,
    bmsVersion,
    addedBy: actor,
    addedAt: at,
  };
  const message = `Spare part requested: ${part.quantity} × ${part.part} for BMS ${part.bmsVersion}${part.description ? ` (${part.description})` : ""}`;
  return changeCase(c, { spareParts: [...c.spareParts, part], updatedAt: touched(c, at) }, [{ kind: "spare-part", actor, at, message }]);
}

/** What a remote command adds to its case: a timeline entry, and as evidence an event-log read's BMS record or a capture's samples. */
export interface CommandEntry {
  kind: "command" | "command-result";
  /** The command, and its status this entry records (`pending` when requested, then its final one): a case records each pair once. */
  commandId: string;
  commandStatus: CommandStatus;
  message: string;
  /** read-event-log: what the BMS logged and counted; `previous` is filled from the evidence it replaces. */
  bmsHistory?: Omit<BmsHistoryEvidence, "previous">;
  /** capture: its samples as the case's second freeze frame (captureEvidenceOf). */
  capture?: CaptureEvidence;
}

/**
 * A remote command on the case's timeline; a new event-log read keeps the counters of the read
 * before, to show what rose; a capture becomes the case's second freeze frame (mergeCapture).
 */
export function planCommandEntry(c: SupportCase, entry: CommandEntry, actor: string, at: number): CasePlan {
  const changes: Parameters<typeof changeCase>[1] = { updatedAt: touched(c, at) };
  if (entry.bmsHistory) {
    const before = c.evidence.bmsHistory;
    const previous =
      before && before.commandId !== entry.bmsHistory.commandId ? { readAt: before.readAt, counters: before.counters } : (before?.previous ?? null);
    const bmsHistory = { ...entry.bmsHistory, previous };
    changes.evidence = { ...c.evidence, bmsHistory };
    if (c.warranty) changes.warranty = withBmsLog(c.warranty, bmsHistory);
  }
  if (entry.capture) changes.evidence = { ...(changes.evidence ?? c.evidence), capture: mergeCapture(c.evidence.capture, entry.capture) };
  return changeCase(c, changes, [{ kind: entry.kind, actor, at, message: entry.message }]);
}
