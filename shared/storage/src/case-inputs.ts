import { CaseEvidence, CaseStatus, EpochMs, EvidenceFollowUp, Id, isId, PackSample, RuleId, Severity, WarrantyAssessment } from "@bms/shared";
import { z } from "zod";
import { MAX_FREEZE_FRAME_SAMPLES } from "./case-policy";
import type { PackStateRow, RuleCommand } from "./rule-ledger";
import { StoreInputError } from "./storage-errors";

// What every CaseStore / RuleLedger adapter checks before it opens a transaction, so that bad input
// is a StoreInputError naming the field, never half a batch.

export const FiringInputSchema = z.object({
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
export type ParsedFiring = z.output<typeof FiringInputSchema>;

const FreezeFrameSamples = z.array(PackSample).max(MAX_FREEZE_FRAME_SAMPLES);

export type ParsedCommand =
  | { kind: "fire"; firing: ParsedFiring }
  | { kind: "clear"; siteId: string; packId: string; ruleId: string; at: number }
  | { kind: "freeze-frame"; firingKey: string; after: PackSample[]; complete: boolean }
  | { kind: "follow"; siteId: string; packId: string; ruleId: string; at: number; followUp: EvidenceFollowUp; warranty: WarrantyAssessment | null };

const FollowInput = z.object({ followUp: EvidenceFollowUp, warranty: WarrantyAssessment.nullable() });

/** A pack state ready to write: its JSON, or null to delete it. */
export interface EncodedPackState {
  siteId: string;
  packId: string;
  json: string | null;
}

function fail(what: string, error: z.ZodError): never {
  const issue = error.issues[0];
  throw new StoreInputError(`${what}: ${issue?.path.join(".") || "(input)"}: ${issue?.message ?? "invalid"}`);
}

export function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) fail(what, parsed.error);
  return parsed.data;
}

export function checkAt(at: number, what: string): number {
  const parsed = EpochMs.safeParse(at);
  if (!parsed.success) throw new StoreInputError(`${what}: expected a time in ms since the epoch (2000-2100), got ${String(at)}`);
  return parsed.data;
}

export function checkStatus(status: string): CaseStatus {
  const parsed = CaseStatus.safeParse(status);
  if (!parsed.success) throw new StoreInputError(`case status must be one of ${CaseStatus.options.join(", ")}, got ${JSON.stringify(status)}`);
  return parsed.data;
}

function checkPack(siteId: unknown, packId: unknown, what: string): void {
  if (typeof siteId !== "string" || !isId(siteId) || typeof packId !== "string" || !isId(packId)) {
    throw new StoreInputError(`${what}: siteId and packId must be IDs of 1-64 letters, digits, '_' or '-', got ${JSON.stringify([siteId, packId])}`);
  }
}

/** Checks one command; `where` says which (e.g. `commands[3]`). */
export function parseCommand(command: RuleCommand, where: string): ParsedCommand {
  switch (command?.kind) {
    case "fire":
      return { kind: "fire", firing: checked(FiringInputSchema, command.firing, `${where}: cannot record a rule firing`) };
    case "clear": {
      const what = `${where}: cannot mark a case cleared`;
      checkPack(command.siteId, command.packId, what);
      const ruleId = checked(RuleId, command.ruleId, `${what}: ruleId`);
      return { kind: "clear", siteId: command.siteId, packId: command.packId, ruleId, at: checkAt(command.at, what) };
    }
    case "freeze-frame": {
      const what = `${where}: cannot add to a freeze frame`;
      if (typeof command.firingKey !== "string" || command.firingKey === "" || command.firingKey.length > 512) {
        throw new StoreInputError(`${what}: firingKey must be the key of the firing that started the frame (1-512 characters)`);
      }
      if (typeof command.complete !== "boolean") throw new StoreInputError(`${what}: complete must be true or false`);
      return { kind: "freeze-frame", firingKey: command.firingKey, after: checked(FreezeFrameSamples, command.after, what), complete: command.complete };
    }
    case "follow": {
      const what = `${where}: cannot follow a case's condition`;
      checkPack(command.siteId, command.packId, what);
      const ruleId = checked(RuleId, command.ruleId, `${what}: ruleId`);
      const at = checkAt(command.at, what);
      const { followUp, warranty } = checked(FollowInput, { followUp: command.followUp, warranty: command.warranty }, what);
      if (followUp.heldSince > followUp.heldUntil) throw new StoreInputError(`${what}: followUp.heldSince must not be after followUp.heldUntil`);
      return { kind: "follow", siteId: command.siteId, packId: command.packId, ruleId, at, followUp, warranty };
    }
    default:
      throw new StoreInputError(
        `${where}: kind must be fire, clear, freeze-frame or follow, got ${JSON.stringify((command as { kind?: unknown } | null)?.kind)}`,
      );
  }
}

/** A commit's commands and pack states, checked (and the states turned into JSON) before any transaction opens. */
export function parseBatch(commands: readonly RuleCommand[], states: readonly PackStateRow[]): { commands: ParsedCommand[]; states: EncodedPackState[] } {
  if (!Array.isArray(commands) || !Array.isArray(states)) throw new StoreInputError("commit needs an array of commands and an array of pack states");
  return { commands: commands.map((c, i) => parseCommand(c, `commands[${i}]`)), states: encodeStates(states) };
}

/** The packs a worker asks the states of (loadStates). */
export function checkPackList(packs: unknown): readonly { siteId: string; packId: string }[] {
  if (!Array.isArray(packs)) throw new StoreInputError("loadStates: packs must be an array of { siteId, packId }");
  for (const p of packs) {
    if (typeof p?.siteId !== "string" || typeof p?.packId !== "string") throw new StoreInputError("loadStates: each pack needs a string siteId and packId");
  }
  return packs;
}

/** Checks pack states and turns each into JSON once; null or undefined deletes. */
export function encodeStates(states: readonly PackStateRow[]): EncodedPackState[] {
  return states.map((row, i) => {
    const where = `states[${i}]`;
    checkPack(row?.siteId, row?.packId, where);
    if (row.state === null || row.state === undefined) return { siteId: row.siteId, packId: row.packId, json: null };
    let json: string | undefined;
    try {
      json = JSON.stringify(row.state);
    } catch (err) {
      throw new StoreInputError(`${where} (${row.siteId}/${row.packId}): the state is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (json === undefined) throw new StoreInputError(`${where} (${row.siteId}/${row.packId}): the state is not JSON-serialisable (a function or symbol)`);
    return { siteId: row.siteId, packId: row.packId, json };
  });
}
