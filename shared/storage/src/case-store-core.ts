import { randomUUID } from "node:crypto";
import {
  Actor,
  BmsHistoryEvidence,
  CaptureEvidence,
  CaseAssignee,
  CaseNoteText,
  CommandId,
  CommandStatus,
  CostLineInput,
  type PackCaseRollup,
  SEVERITY_RANK,
  Severity,
  SparePartInput,
  type SupportCase,
} from "@bms/shared";
import { z } from "zod";
import { checkAt, checked, checkStatus, type ParsedCommand, parseCommand } from "./case-inputs";
import { type CasePlan, type CommandEntry, planAssign, planCommandEntry, planCostLine, planNote, planSparePart, planTransition } from "./case-policy";
import type { CaseFilter, CaseStore } from "./case-store";
import type { RuleCommand, RuleCommandResult } from "./rule-ledger";
import { StoreCorruptError, StoreInputError } from "./storage-errors";

// What every CaseStore adapter does the same way, whatever its database: the checks before a
// transaction opens, the engineers' changes through the case policy, the rule ledger's one-command
// wrappers, the list filter and the roll-up. An adapter supplies the transactions.

/** Largest page `list` and `timelineSince` return. */
export const MAX_CASE_LIST_LIMIT = 10_000;
const DEFAULT_CASE_LIST_LIMIT = 100;
/** Closed cases a roll-up lists besides the ones that are not closed. */
export const ROLLUP_CLOSED_KEPT = 20;

/** Short, URL-safe, unique: 22 base64url characters of a random UUID's 128 bits. */
export function newCaseId(): string {
  return Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
}

type Maybe<T> = T | Promise<T>;

/** A remote command's entry a case records once: applying the same (command, status) again changes nothing. */
export interface CommandClaim {
  commandId: string;
  status: string;
}

/**
 * In one transaction: read the case, claim `claim` (a unique key: when it was claimed before, the
 * transaction changes nothing and answers null), plan the change, write it; null for an unknown id.
 */
export type ChangeCase = (id: string, plan: (c: SupportCase) => CasePlan, claim?: CommandClaim) => Maybe<SupportCase | null>;

const CommandEntryInput: z.ZodType<CommandEntry> = z
  .object({
    kind: z.enum(["command", "command-result"]),
    commandId: CommandId,
    commandStatus: CommandStatus,
    message: z.string().min(1).max(10_000),
    bmsHistory: BmsHistoryEvidence.omit({ previous: true }).optional(),
    capture: CaptureEvidence.optional(),
  })
  .strict();

/** The engineers' changes: inputs checked first, then planned by the policy inside the adapter's transaction. */
export function engineerChanges(change: ChangeCase): Pick<CaseStore, "transition" | "assign" | "addNote" | "addCostLine" | "addSparePart" | "addCommandEntry"> {
  const actorOf = (actor: string) => checked(Actor, actor, "actor");
  return {
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
    async addCostLine(id, line, actor, at) {
      checkAt(at, "addCostLine");
      const input = checked(CostLineInput, line, "cost line");
      const who = actorOf(actor);
      return change(id, (c) => planCostLine(c, input, who, at, newCaseId()));
    },
    async addSparePart(id, part, actor, at) {
      checkAt(at, "addSparePart");
      const input = checked(SparePartInput, part, "spare part");
      const who = actorOf(actor);
      return change(id, (c) => planSparePart(c, input, who, at, newCaseId()));
    },
    async addCommandEntry(id, entry, actor, at) {
      checkAt(at, "addCommandEntry");
      const input = checked(CommandEntryInput, entry, "command entry");
      const who = actorOf(actor);
      return change(id, (c) => planCommandEntry(c, input, who, at), { commandId: input.commandId, status: input.commandStatus });
    },
  };
}

/**
 * recordFiring, markCleared and appendFreezeFrame as one-command batches of the adapter's rule
 * ledger (`commitParsed`); `frameKeyOf` finds the firing key of a (case, trigger) freeze frame.
 */
export function ruleCommandWrappers(
  commitParsed: (commands: readonly ParsedCommand[]) => Maybe<RuleCommandResult[]>,
  frameKeyOf: (caseId: string, triggerTs: number) => Maybe<string | null>,
): Pick<CaseStore, "recordFiring" | "markCleared" | "appendFreezeFrame"> {
  const commitOne = async (command: RuleCommand, where: string) => {
    const [result] = await commitParsed([parseCommand(command, where)]);
    if (!result) throw new StoreCorruptError(`${where}: the ledger returned no result`);
    return result;
  };
  return {
    async recordFiring(input) {
      const result = await commitOne({ kind: "fire", firing: input }, "recordFiring");
      if (result.kind !== "fire") throw new StoreCorruptError("recordFiring: the ledger answered another command");
      return result.result;
    },
    async markCleared(siteId, packId, ruleId, at) {
      const result = await commitOne({ kind: "clear", siteId, packId, ruleId, at }, "markCleared");
      return result.kind === "clear" ? result.case : null;
    },
    async appendFreezeFrame(caseId, triggerTs, after, complete) {
      if (!Number.isSafeInteger(triggerTs)) return;
      const firingKey = await frameKeyOf(String(caseId), triggerTs);
      if (firingKey !== null) await commitOne({ kind: "freeze-frame", firingKey, after, complete }, "appendFreezeFrame");
    },
  };
}

/** A `list` filter as SQL conditions; `placeholder(n)` spells the n-th parameter (1-based). null: nothing can match. */
export function caseListQuery(
  filter: CaseFilter,
  placeholder: (n: number) => string,
): { where: string; params: (string | number)[]; limitParam: string } | null {
  const limit = filter.limit ?? DEFAULT_CASE_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CASE_LIST_LIMIT) {
    throw new StoreInputError(`list limit must be a whole number from 1 to ${MAX_CASE_LIST_LIMIT}, got ${String(limit)}`);
  }
  const where: string[] = [];
  const params: (string | number)[] = [];
  const param = (value: string | number) => {
    params.push(value);
    return placeholder(params.length);
  };
  for (const [column, value] of [
    ["site_id", filter.siteId],
    ["pack_id", filter.packId],
    ["rule_id", filter.ruleId],
    ["assignee", filter.assignee],
  ] as const) {
    if (value !== undefined) where.push(`${column} = ${param(value)}`);
  }
  if (filter.status === "active") where.push("status <> 'closed'");
  else if (filter.status !== undefined) {
    const statuses = filter.status.map(checkStatus);
    if (statuses.length === 0) return null;
    where.push(`status IN (${statuses.map(param).join(", ")})`);
  }
  if (filter.severity !== undefined) {
    const severities = filter.severity.map((s) => checked(Severity, s, "severity"));
    if (severities.length === 0) return null;
    where.push(`severity IN (${severities.map(param).join(", ")})`);
  }
  const limitParam = param(limit);
  return { where: where.length > 0 ? `WHERE ${where.join(" AND ")}` : "", params, limitParam };
}

/** A pack's roll-up from its cases that are not closed (newest first) and its most recently closed ones. */
export function rollupOf(siteId: string, packId: string, active: readonly SupportCase[], closed: readonly SupportCase[]): PackCaseRollup {
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
}

/** Checks a timeline page request (cursor and size). */
export function checkTimelinePage(afterId: number, limit: number): void {
  if (!Number.isSafeInteger(afterId) || afterId < 0) throw new StoreInputError(`timeline cursor must be a whole number >= 0, got ${String(afterId)}`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CASE_LIST_LIMIT) throw new StoreInputError(`timeline limit must be 1 to ${MAX_CASE_LIST_LIMIT}`);
}
