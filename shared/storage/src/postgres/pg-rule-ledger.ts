import type { PackSample, SupportCase } from "@bms/shared";
import { checkPackList, type EncodedPackState, type ParsedCommand, type ParsedFiring, parseBatch } from "../case-inputs";
import { firingReads, planClear, planFiring, planFollowUp, planFreezeFrameAppend } from "../case-policy";
import { type CaseRow, caseFromRow, type OpenFrameRow, openFrameFromRow, packStateFromRow } from "../case-rows";
import type { FiringResult } from "../case-store";
import type { RuleCommandResult, RuleLedger } from "../rule-ledger";
import { StoreCorruptError } from "../storage-errors";
import { lockPacks, PgCaseWriter } from "./pg-case-writer";
import type { PgDatabase, Sql } from "./pg-database";

/** The ledger plus what the case store's one-command wrappers need. */
export interface PgRuleLedger extends RuleLedger {
  /** Commits commands already checked by parseCommand (the one-command wrappers). */
  commitParsed(commands: readonly ParsedCommand[], states?: readonly EncodedPackState[]): Promise<RuleCommandResult[]>;
  /** The firing key of the freeze frame of (case, trigger); null when there is none. */
  frameKeyOf(caseId: string, triggerTs: number): Promise<string | null>;
}

interface FrameRow {
  case_id: string;
  complete: boolean;
  after_count: number;
  last_after_ts: number | null;
}

interface StateRow {
  site_id: string;
  pack_id: string;
  state: string;
}

const SELECT_BY_ID = "SELECT * FROM support_cases WHERE id = $1";
const SELECT_CURRENT = "SELECT * FROM support_cases WHERE site_id = $1 AND pack_id = $2 AND rule_id = $3 AND status <> 'closed'";
const SELECT_LAST_CLOSED =
  "SELECT * FROM support_cases WHERE site_id = $1 AND pack_id = $2 AND rule_id = $3 AND status = 'closed' ORDER BY closed_at DESC LIMIT 1";
// Locked: a frame's samples are read, planned and appended by one transaction at a time.
const SELECT_FRAME = "SELECT case_id, complete, after_count, last_after_ts FROM case_freeze_frames WHERE firing_key = $1 FOR UPDATE";
// Appends the samples' JSON array to the stored one as text: the stored after-window is not parsed.
const APPEND_FRAME = `UPDATE case_freeze_frames SET complete = $2, after_count = after_count + $4, last_after_ts = coalesce($5, last_after_ts),
  after = CASE WHEN $3 = '[]' THEN after WHEN after = '[]' THEN $3 ELSE left(after, -1) || ',' || substr($3, 2) END
  WHERE firing_key = $1`;
// Rows in (site, pack) order, so that two batches saving the same packs lock them in the same order.
const DELETE_STATES = "DELETE FROM pack_state WHERE (site_id, pack_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))";
const UPSERT_STATES = `INSERT INTO pack_state (site_id, pack_id, state) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
  ON CONFLICT (site_id, pack_id) DO UPDATE SET state = excluded.state`;
const SELECT_STATES_OF = `SELECT s.site_id, s.pack_id, s.state FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(site_id, pack_id, i)
  JOIN pack_state s ON s.site_id = p.site_id AND s.pack_id = p.pack_id ORDER BY p.i`;

/**
 * Unique violations only a race causes: the same firing key recorded on two packs at once (each
 * under its own pack lock), or a second open case by a writer that took no lock. The transaction
 * runs again and reads the winner's row.
 */
const RACE_CONSTRAINTS: ReadonlySet<string> = new Set(["support_cases_one_current", "case_firings_pkey"]);

/** The pack whose cases a command may change; a freeze frame changes only its own row. */
function packOf(command: ParsedCommand): { siteId: string; packId: string }[] {
  if (command.kind === "fire") return [command.firing];
  if (command.kind === "clear" || command.kind === "follow") return [command];
  return [];
}

/** The last state of each pack (a batch may name one twice), in (site, pack) order. */
function lastStates(states: readonly EncodedPackState[]): EncodedPackState[] {
  const byPack = new Map<string, EncodedPackState>();
  for (const s of states) byPack.set(`${s.siteId}\u0000${s.packId}`, s);
  return [...byPack.values()].sort((a, b) => (a.siteId === b.siteId ? (a.packId < b.packId ? -1 : 1) : a.siteId < b.siteId ? -1 : 1));
}

/**
 * RuleLedger in PostgreSQL: a batch is one READ COMMITTED transaction that first locks the packs its
 * firings and clears touch (lockPacks), then, per command, reads what the case policy needs, asks it
 * for a plan and writes the plan; the pack states and the batch's timeline entries come last.
 */
export function createPgRuleLedger(db: PgDatabase, newId: () => string): PgRuleLedger {
  const readCase = async (sql: Sql, text: string, values: readonly string[], name: string): Promise<SupportCase | null> => {
    const [row] = await sql.query<CaseRow>(text, values, name);
    return row ? caseFromRow(row) : null;
  };

  const fire = async (sql: Sql, writer: PgCaseWriter, input: ParsedFiring): Promise<FiringResult> => {
    const { siteId, packId, ruleId } = input;
    const [recordedOn] = await sql.query<{ case_id: string }>("SELECT case_id FROM case_firings WHERE firing_key = $1", [input.firingKey], "firing");
    let plan: ReturnType<typeof planFiring>;
    if (recordedOn) {
      const recorded = await readCase(sql, SELECT_BY_ID, [recordedOn.case_id], "case-by-id");
      if (!recorded) throw new StoreCorruptError(`firing ${input.firingKey} was recorded on case ${recordedOn.case_id}, which is not in the store`);
      plan = planFiring(input, { recorded, current: null, hosts: [], lastClosed: null }, newId);
    } else {
      const current = await readCase(sql, SELECT_CURRENT, [siteId, packId, ruleId], "current-case");
      const reads = firingReads(input, current);
      const hosts: SupportCase[] = [];
      for (const rule of reads.hosts) {
        const host = await readCase(sql, SELECT_CURRENT, [siteId, packId, rule], "current-case");
        if (host) hosts.push(host);
      }
      const lastClosed = reads.lastClosed ? await readCase(sql, SELECT_LAST_CLOSED, [siteId, packId, ruleId], "last-closed-case") : null;
      plan = planFiring(input, { recorded: null, current, hosts, lastClosed }, newId);
    }
    if (plan.write) {
      await writer.write(plan.write);
      await sql.query(
        "INSERT INTO case_firings (firing_key, case_id, outcome, at) VALUES ($1, $2, $3, $4)",
        [input.firingKey, plan.case.id, plan.outcome, input.at],
        "insert-firing",
      );
    }
    if (plan.freezeFrame) await writer.startFreezeFrame(plan.freezeFrame);
    return { case: plan.case, outcome: plan.outcome, severityRaised: plan.severityRaised };
  };

  const clear = async (sql: Sql, writer: PgCaseWriter, siteId: string, packId: string, ruleId: string, at: number): Promise<SupportCase | null> => {
    const added = await sql.run(
      "INSERT INTO case_clears (site_id, pack_id, rule_id, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [siteId, packId, ruleId, at],
      "insert-clear",
    );
    const seen = added === 0;
    const plan = planClear(seen ? null : await readCase(sql, SELECT_CURRENT, [siteId, packId, ruleId], "current-case"), at, seen);
    if (!plan) return null;
    await writer.write(plan);
    return plan.case;
  };

  const appendToFrame = async (sql: Sql, firingKey: string, after: readonly PackSample[], complete: boolean): Promise<string | null> => {
    const [frame] = await sql.query<FrameRow>(SELECT_FRAME, [firingKey], "frame");
    if (!frame) return null;
    const plan = planFreezeFrameAppend({ afterCount: frame.after_count, lastAfterTs: frame.last_after_ts, complete: frame.complete }, after, complete);
    if (plan) {
      const lastTs = plan.append.at(-1)?.ts ?? null;
      await sql.query(APPEND_FRAME, [firingKey, plan.complete, JSON.stringify(plan.append), plan.append.length, lastTs], "append-frame");
    }
    return frame.case_id;
  };

  const apply = async (sql: Sql, writer: PgCaseWriter, command: ParsedCommand): Promise<RuleCommandResult> => {
    switch (command.kind) {
      case "fire":
        return { kind: "fire", result: await fire(sql, writer, command.firing) };
      case "clear":
        return { kind: "clear", case: await clear(sql, writer, command.siteId, command.packId, command.ruleId, command.at) };
      case "freeze-frame":
        return { kind: "freeze-frame", caseId: await appendToFrame(sql, command.firingKey, command.after, command.complete) };
      case "follow": {
        const current = await readCase(sql, SELECT_CURRENT, [command.siteId, command.packId, command.ruleId], "current-case");
        const plan = planFollowUp(current, command.followUp, command.warranty, command.at);
        if (plan) await writer.write(plan);
        return { kind: "follow", case: plan?.case ?? null };
      }
    }
  };

  const writeStates = async (sql: Sql, states: readonly EncodedPackState[]) => {
    const last = lastStates(states);
    const gone = last.filter((s) => s.json === null);
    const kept = last.filter((s) => s.json !== null);
    if (gone.length > 0) await sql.query(DELETE_STATES, [gone.map((s) => s.siteId), gone.map((s) => s.packId)]);
    if (kept.length > 0) await sql.query(UPSERT_STATES, [kept.map((s) => s.siteId), kept.map((s) => s.packId), kept.map((s) => s.json)], "upsert-states");
  };

  const commitParsed = (commands: readonly ParsedCommand[], states: readonly EncodedPackState[] = []) =>
    db.transaction(async (sql) => {
      await lockPacks(db, sql, commands.flatMap(packOf));
      const writer = new PgCaseWriter(sql);
      const results: RuleCommandResult[] = [];
      for (const command of commands) results.push(await apply(sql, writer, command));
      await writeStates(sql, states);
      await writer.finish();
      return results;
    }, RACE_CONSTRAINTS);

  return {
    async commit(commands, states) {
      // Everything is checked before the transaction opens: a bad command or state writes nothing.
      const batch = parseBatch(commands, states);
      if (batch.commands.length === 0 && batch.states.length === 0) return [];
      return commitParsed(batch.commands, batch.states);
    },
    commitParsed,
    async frameKeyOf(caseId, triggerTs) {
      const [row] = await db.query<{ firing_key: string }>("SELECT firing_key FROM case_freeze_frames WHERE case_id = $1 AND trigger_ts = $2", [
        caseId,
        triggerTs,
      ]);
      return row?.firing_key ?? null;
    },
    async loadStates(packs) {
      if (packs === undefined) return (await db.query<StateRow>("SELECT site_id, pack_id, state FROM pack_state")).map(packStateFromRow);
      const asked = checkPackList(packs);
      if (asked.length === 0) return [];
      const rows = await db.query<StateRow>(SELECT_STATES_OF, [asked.map((p) => p.siteId), asked.map((p) => p.packId)]);
      return rows.map(packStateFromRow);
    },
    async openFreezeFrames() {
      const rows = await db.query<OpenFrameRow>(
        `SELECT f.case_id, c.site_id, c.pack_id, f.trigger_ts, f.firing_key, f.after_count
         FROM case_freeze_frames f JOIN support_cases c ON c.id = f.case_id WHERE NOT f.complete ORDER BY f.trigger_ts, f.case_id`,
      );
      return rows.map(openFrameFromRow);
    },
  };
}
