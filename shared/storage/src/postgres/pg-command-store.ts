import { type CommandRow, checkCommand, checkPart, commandFromRow, samplesFromText, takenIdError } from "../command-rows";
import type { CommandStore } from "../command-store";
import type { PgDatabase } from "./pg-database";

const SELECT = "SELECT id, record FROM commands WHERE id = $1";

/**
 * The live service's commands in PostgreSQL (with DATABASE_URL), shared by every live node. An
 * update reads the record FOR UPDATE in its transaction, so two nodes applying the same result
 * one after the other plan the second from the first's outcome (a final status never changes: the
 * second plan is null). `close()` releases this store's share of the pool.
 */
export function createPgCommandStore(db: PgDatabase, release: () => Promise<void>): CommandStore {
  const records = async (text: string, values: readonly (string | number)[], name?: string) =>
    (await db.query<CommandRow>(text, values, name)).map(commandFromRow);
  return {
    async add(record) {
      const r = checkCommand(record);
      const added = await db.run(
        "INSERT INTO commands (id, site_id, pack_id, status, created_at, record) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        [r.id, r.siteId, r.packId, r.status, r.createdAt, JSON.stringify(r)],
      );
      if (added === 0) throw takenIdError(r.id);
    },
    async get(id) {
      const [record] = await records(SELECT, [id], "command-by-id");
      return record ?? null;
    },
    update(id, plan) {
      return db.transaction(async (sql) => {
        const [row] = await sql.query<CommandRow>(`${SELECT} FOR UPDATE`, [id], "command-for-update");
        if (!row) return null;
        const next = plan(commandFromRow(row));
        if (!next) return null;
        const checked = checkCommand(next);
        await sql.query("UPDATE commands SET status = $1, record = $2 WHERE id = $3", [checked.status, JSON.stringify(checked), id], "command-update");
        return checked;
      });
    },
    async addPart(id, part, samples) {
      await db.query("INSERT INTO command_parts (id, part, samples) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [
        id,
        checkPart(part),
        JSON.stringify(samples),
      ]);
    },
    async samples(id) {
      const rows = await db.query<{ samples: string }>("SELECT samples FROM command_parts WHERE id = $1 ORDER BY part", [id]);
      return rows.flatMap((row) => samplesFromText(row.samples, id));
    },
    async unfinished(limit) {
      return records("SELECT id, record FROM commands WHERE status IN ('pending', 'sent') ORDER BY created_at, seq LIMIT $1", [limit]);
    },
    async listForPack(siteId, packId, limit) {
      return records("SELECT id, record FROM commands WHERE site_id = $1 AND pack_id = $2 ORDER BY created_at DESC, seq DESC LIMIT $3", [
        siteId,
        packId,
        limit,
      ]);
    },
    close: release,
  };
}
