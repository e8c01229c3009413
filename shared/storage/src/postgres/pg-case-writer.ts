import { createHash } from "node:crypto";
import type { CasePlan, NewFreezeFrame, TimelineDraft } from "../case-policy";
import { CASE_COLUMNS, caseValues, changedColumns } from "../case-rows";
import { StoreCorruptError } from "../storage-errors";
import type { PgDatabase, Sql } from "./pg-database";

const INSERT_CASE = `INSERT INTO support_cases (${CASE_COLUMNS.join(", ")}) VALUES (${CASE_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})`;
const INSERT_FREEZE_FRAME =
  "INSERT INTO case_freeze_frames (case_id, trigger_ts, rule_id, firing_key, before) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
// The clock row's lock orders the transactions that write timeline entries: the next one numbers
// its entries only after this one committed (see PG_CASE_SCHEMA).
const TICK_CLOCK = "UPDATE case_timeline_clock SET last_id = last_id + $1 RETURNING last_id";
const INSERT_TIMELINE = `INSERT INTO case_timeline (id, case_id, at, actor, kind, message, status, severity)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`;

/**
 * Locks the packs whose cases a transaction will change, in one order (by key) so that two
 * transactions never wait for each other in a cycle. Every writer of a pack's cases (a rule batch,
 * an engineer) holds its pack's lock until it commits, so what it read stays true until then.
 */
export async function lockPacks(db: PgDatabase, sql: Sql, packs: Iterable<{ siteId: string; packId: string }>): Promise<void> {
  const keys = [...new Set([...packs].map((p) => db.lockKey("pack", p.siteId, p.packId)))].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  if (keys.length === 0) return;
  await sql.query("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS t(k, i) ORDER BY i", [keys], "lock-packs");
}

/**
 * Writes case plans in one transaction: only the columns a plan changes, each JSON field stringified
 * once. Timeline entries wait for `finish()`, which numbers them from the clock just before commit.
 */
export class PgCaseWriter {
  private readonly timeline: TimelineDraft[] = [];

  constructor(private readonly sql: Sql) {}

  async write(plan: CasePlan): Promise<void> {
    if (plan.insert) {
      await this.sql.query(INSERT_CASE, caseValues(plan.case), "insert-case");
    } else {
      const pairs = changedColumns(plan.changes);
      if (pairs.length > 0) {
        const columns = pairs.map(([c]) => c);
        const text = `UPDATE support_cases SET ${columns.map((c, i) => `${c} = $${i + 1}`).join(", ")} WHERE id = $${pairs.length + 1}`;
        // One prepared statement per set of changed columns (plans change a handful of distinct sets),
        // named by a hash: PostgreSQL keeps 63 characters of a name.
        const name = `update-case-${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
        await this.sql.query(text, [...pairs.map(([, v]) => v), plan.case.id], name);
      }
    }
    this.timeline.push(...plan.timeline);
  }

  async startFreezeFrame(frame: NewFreezeFrame): Promise<void> {
    await this.sql.query(INSERT_FREEZE_FRAME, [frame.caseId, frame.triggerTs, frame.ruleId, frame.firingKey, JSON.stringify(frame.before)], "insert-frame");
  }

  /** Numbers and writes the timeline entries: the transaction's last statements. */
  async finish(): Promise<void> {
    const entries = this.timeline.splice(0);
    if (entries.length === 0) return;
    const [clock] = await this.sql.query<{ last_id: number }>(TICK_CLOCK, [entries.length], "tick-clock");
    if (!clock) throw new StoreCorruptError("case_timeline_clock has no row: the cases tables are damaged");
    const first = clock.last_id - entries.length + 1;
    await this.sql.query(
      INSERT_TIMELINE,
      [
        entries.map((_, i) => first + i),
        entries.map((e) => e.caseId),
        entries.map((e) => e.at),
        entries.map((e) => e.actor),
        entries.map((e) => e.kind),
        entries.map((e) => e.message),
        entries.map((e) => e.status),
        entries.map((e) => e.severity),
      ],
      "insert-timeline",
    );
  }
}
