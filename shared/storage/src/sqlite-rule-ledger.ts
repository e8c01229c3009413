import type { PackSample, SupportCase } from "@bms/shared";
import type Database from "better-sqlite3";
import { checkPackList, type EncodedPackState, encodeStates, type ParsedCommand, type ParsedFiring, parseBatch } from "./case-inputs";
import { firingReads, planClear, planFiring, planFollowUp, planFreezeFrameAppend } from "./case-policy";
import { type CaseRow, caseFromRow, type OpenFrameRow, openFrameFromRow, packStateFromRow } from "./case-rows";
import type { FiringResult } from "./case-store";
import type { LegacyRuleStates, RuleCommand, RuleCommandResult, RuleLedger } from "./rule-ledger";
import type { CaseWriter } from "./sqlite-case-rows";
import { legacyRuleState } from "./sqlite-rule-state-store";
import { StoreCorruptError, StoreInputError } from "./storage-errors";

/** The ledger plus what the case store's one-command wrappers need. */
export interface SqliteRuleLedger extends RuleLedger, LegacyRuleStates {
  /** Commits commands already checked by parseCommand (the one-command wrappers). */
  commitParsed(commands: readonly ParsedCommand[]): RuleCommandResult[];
  /** The firing key of the freeze frame of (case, trigger); null when there is none. */
  frameKeyOf(caseId: string, triggerTs: number): string | null;
}

interface FrameRow {
  case_id: string;
  complete: number;
  after_count: number;
  last_ts: number | null;
}

/**
 * RuleLedger on the case store's connection: each command reads what the case policy needs, asks
 * it for a plan and writes the plan; the whole batch and the pack states are one IMMEDIATE transaction.
 */
export function createSqliteRuleLedger(db: Database.Database, writer: CaseWriter, newId: () => string): SqliteRuleLedger {
  const selectById = db.prepare<[string], CaseRow>("SELECT * FROM support_cases WHERE id = ?");
  const selectCurrent = db.prepare<[string, string, string], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND rule_id = ? AND status <> 'closed'",
  );
  const selectLastClosed = db.prepare<[string, string, string], CaseRow>(
    "SELECT * FROM support_cases WHERE site_id = ? AND pack_id = ? AND rule_id = ? AND status = 'closed' ORDER BY closed_at DESC LIMIT 1",
  );
  const selectFiring = db.prepare<[string], { case_id: string }>("SELECT case_id FROM case_firings WHERE firing_key = ?");
  const insertFiring = db.prepare<[string, string, string, number]>("INSERT INTO case_firings (firing_key, case_id, outcome, at) VALUES (?, ?, ?, ?)");
  const rememberClear = db.prepare<[string, string, string, number]>("INSERT OR IGNORE INTO case_clears (site_id, pack_id, rule_id, at) VALUES (?, ?, ?, ?)");
  const selectFrame = db.prepare<[string], FrameRow>(
    "SELECT case_id, complete, json_array_length(after) AS after_count, after ->> '$[#-1].ts' AS last_ts FROM case_freeze_frames WHERE firing_key = ?",
  );
  const selectFrameKey = db.prepare<[string, number], { firing_key: string }>("SELECT firing_key FROM case_freeze_frames WHERE case_id = ? AND trigger_ts = ?");
  // Appends the samples' JSON array to the stored one as text: the stored after-window is not parsed.
  const appendFrame = db.prepare<{ samples: string; complete: number; key: string }>(
    `UPDATE case_freeze_frames SET complete = @complete, after = CASE
       WHEN @samples = '[]' THEN after
       WHEN after = '[]' THEN @samples
       ELSE substr(after, 1, length(after) - 1) || ',' || substr(@samples, 2) END
     WHERE firing_key = @key`,
  );
  const selectOpenFrames = db.prepare<[], OpenFrameRow>(
    `SELECT f.case_id, c.site_id, c.pack_id, f.trigger_ts, f.firing_key, json_array_length(f.after) AS after_count
     FROM case_freeze_frames f JOIN support_cases c ON c.id = f.case_id WHERE f.complete = 0 ORDER BY f.trigger_ts, f.case_id`,
  );
  const upsertState = db.prepare<[string, string, string]>(
    "INSERT INTO pack_state (site_id, pack_id, state) VALUES (?, ?, ?) ON CONFLICT (site_id, pack_id) DO UPDATE SET state = excluded.state",
  );
  const deleteState = db.prepare<[string, string]>("DELETE FROM pack_state WHERE site_id = ? AND pack_id = ?");
  const selectStates = db.prepare<[], { site_id: string; pack_id: string; state: string }>("SELECT site_id, pack_id, state FROM pack_state");
  const selectState = db.prepare<[string, string], { site_id: string; pack_id: string; state: string }>(
    "SELECT site_id, pack_id, state FROM pack_state WHERE site_id = ? AND pack_id = ?",
  );
  const hasLegacyTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rule_state'");

  const readCase = (row: CaseRow | undefined): SupportCase | null => (row ? caseFromRow(row) : null);

  const fire = (input: ParsedFiring): FiringResult => {
    const { siteId, packId, ruleId } = input;
    const recordedOn = selectFiring.get(input.firingKey);
    let plan: ReturnType<typeof planFiring>;
    if (recordedOn) {
      const recorded = readCase(selectById.get(recordedOn.case_id));
      if (!recorded) throw new StoreCorruptError(`firing ${input.firingKey} was recorded on case ${recordedOn.case_id}, which is not in the store`);
      plan = planFiring(input, { recorded, current: null, hosts: [], lastClosed: null }, newId);
    } else {
      const current = readCase(selectCurrent.get(siteId, packId, ruleId));
      const reads = firingReads(input, current);
      const hosts = reads.hosts.flatMap((rule) => readCase(selectCurrent.get(siteId, packId, rule)) ?? []);
      const lastClosed = reads.lastClosed ? readCase(selectLastClosed.get(siteId, packId, ruleId)) : null;
      plan = planFiring(input, { recorded: null, current, hosts, lastClosed }, newId);
    }
    if (plan.write) {
      writer.write(plan.write);
      insertFiring.run(input.firingKey, plan.case.id, plan.outcome, input.at);
    }
    if (plan.freezeFrame) writer.startFreezeFrame(plan.freezeFrame);
    return { case: plan.case, outcome: plan.outcome, severityRaised: plan.severityRaised };
  };

  const clear = (siteId: string, packId: string, ruleId: string, at: number): SupportCase | null => {
    const seen = rememberClear.run(siteId, packId, ruleId, at).changes === 0;
    const plan = planClear(seen ? null : readCase(selectCurrent.get(siteId, packId, ruleId)), at, seen);
    if (!plan) return null;
    writer.write(plan);
    return plan.case;
  };

  const appendToFrame = (firingKey: string, after: readonly PackSample[], complete: boolean): string | null => {
    const frame = selectFrame.get(firingKey);
    if (!frame) return null;
    const plan = planFreezeFrameAppend({ afterCount: frame.after_count, lastAfterTs: frame.last_ts, complete: frame.complete === 1 }, after, complete);
    if (plan) appendFrame.run({ samples: JSON.stringify(plan.append), complete: plan.complete ? 1 : 0, key: firingKey });
    return frame.case_id;
  };

  const apply = (command: ParsedCommand): RuleCommandResult => {
    switch (command.kind) {
      case "fire":
        return { kind: "fire", result: fire(command.firing) };
      case "clear":
        return { kind: "clear", case: clear(command.siteId, command.packId, command.ruleId, command.at) };
      case "freeze-frame":
        return { kind: "freeze-frame", caseId: appendToFrame(command.firingKey, command.after, command.complete) };
      case "follow": {
        const plan = planFollowUp(readCase(selectCurrent.get(command.siteId, command.packId, command.ruleId)), command.followUp, command.warranty, command.at);
        if (plan) writer.write(plan);
        return { kind: "follow", case: plan?.case ?? null };
      }
    }
  };

  const writeStates = (states: readonly EncodedPackState[]) => {
    for (const s of states) {
      if (s.json === null) deleteState.run(s.siteId, s.packId);
      else upsertState.run(s.siteId, s.packId, s.json);
    }
  };

  const commitTx = db.transaction((commands: readonly ParsedCommand[], states: readonly EncodedPackState[]) => {
    const results = commands.map(apply);
    writeStates(states);
    return results;
  });

  const legacyRows = () =>
    hasLegacyTable.get() ? db.prepare<[], Parameters<typeof legacyRuleState>[0]>("SELECT * FROM rule_state").all().map(legacyRuleState) : [];

  const adoptTx = db.transaction((convert: Parameters<LegacyRuleStates["adoptLegacyRuleStates"]>[0]) => {
    const rows = legacyRows();
    if (rows.length === 0) return 0;
    writeStates(encodeStates(convert(rows)));
    db.prepare("DELETE FROM rule_state").run();
    return rows.length;
  });

  return {
    async commit(commands: readonly RuleCommand[], states: readonly { siteId: string; packId: string; state: unknown }[]) {
      // Everything is checked before the transaction opens: a bad command or state writes nothing.
      const batch = parseBatch(commands, states);
      if (batch.commands.length === 0 && batch.states.length === 0) return [];
      // IMMEDIATE takes the write lock before reading, so two processes cannot both see "no case".
      return commitTx.immediate(batch.commands, batch.states);
    },
    commitParsed(commands) {
      return commitTx.immediate(commands, []);
    },
    frameKeyOf(caseId, triggerTs) {
      return selectFrameKey.get(caseId, triggerTs)?.firing_key ?? null;
    },
    async loadStates(packs) {
      if (packs === undefined) return selectStates.all().map(packStateFromRow);
      return checkPackList(packs).flatMap((p) => {
        const row = selectState.get(p.siteId, p.packId);
        return row ? [packStateFromRow(row)] : [];
      });
    },
    async openFreezeFrames() {
      return selectOpenFrames.all().map(openFrameFromRow);
    },
    async loadLegacyRuleStates() {
      return legacyRows();
    },
    async adoptLegacyRuleStates(convert) {
      if (typeof convert !== "function") throw new StoreInputError("adoptLegacyRuleStates needs a function that converts the old rows to pack states");
      return adoptTx.immediate(convert);
    },
  };
}
