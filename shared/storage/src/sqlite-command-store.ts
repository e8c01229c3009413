import type { CommandRecord } from "@bms/shared";
import { checkCommand as check, checkPart, type CommandRow as Row, commandFromRow as recordOf, samplesFromText, takenIdError } from "./command-rows";
import type { CommandStore } from "./command-store";
import { openSqliteDatabase, type StoreSchema } from "./sqlite-database";

const COMMAND_SCHEMA: StoreSchema = {
  store: "commands",
  steps: [
    {
      version: 1,
      does: "commands, command_parts",
      up: (db) =>
        db.exec(`
          CREATE TABLE IF NOT EXISTS commands (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            pack_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            record TEXT NOT NULL
          );
          CREATE INDEX IF NOT EXISTS commands_pack ON commands (site_id, pack_id, created_at);
          CREATE INDEX IF NOT EXISTS commands_status ON commands (status, created_at);
          CREATE TABLE IF NOT EXISTS command_parts (
            id TEXT NOT NULL,
            part INTEGER NOT NULL,
            samples TEXT NOT NULL,
            PRIMARY KEY (id, part)
          );
        `),
    },
  ],
};

/** A CommandStore in a SQLite file (the live service's `${dataDir}/commands.db`). */
export function openSqliteCommandStore(file: string): CommandStore {
  const db = openSqliteDatabase(file, COMMAND_SCHEMA);
  const insert = db.prepare<[string, string, string, string, number, string]>(
    "INSERT INTO commands (id, site_id, pack_id, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const select = db.prepare<[string], Row>("SELECT id, record FROM commands WHERE id = ?");
  const write = db.prepare<[string, string, string]>("UPDATE commands SET status = ?, record = ? WHERE id = ?");
  const insertPart = db.prepare<[string, number, string]>("INSERT OR IGNORE INTO command_parts (id, part, samples) VALUES (?, ?, ?)");
  const selectParts = db.prepare<[string], { samples: string }>("SELECT samples FROM command_parts WHERE id = ? ORDER BY part");
  const selectUnfinished = db.prepare<[number], Row>("SELECT id, record FROM commands WHERE status IN ('pending', 'sent') ORDER BY created_at LIMIT ?");
  const selectPack = db.prepare<[string, string, number], Row>(
    "SELECT id, record FROM commands WHERE site_id = ? AND pack_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
  );
  const updateTx = db.transaction((id: string, plan: (r: CommandRecord) => CommandRecord | null) => {
    const row = select.get(id);
    if (!row) return null;
    const next = plan(recordOf(row));
    if (!next) return null;
    const checked = check(next);
    write.run(checked.status, JSON.stringify(checked), id);
    return checked;
  });

  return {
    async add(record) {
      const r = check(record);
      if (select.get(r.id)) throw takenIdError(r.id);
      insert.run(r.id, r.siteId, r.packId, r.status, r.createdAt, JSON.stringify(r));
    },
    async get(id) {
      const row = select.get(id);
      return row ? recordOf(row) : null;
    },
    async update(id, plan) {
      return updateTx.immediate(id, plan);
    },
    async addPart(id, part, samples) {
      insertPart.run(id, checkPart(part), JSON.stringify(samples));
    },
    async samples(id) {
      return selectParts.all(id).flatMap((row) => samplesFromText(row.samples, id));
    },
    async unfinished(limit) {
      return selectUnfinished.all(limit).map(recordOf);
    },
    async listForPack(siteId, packId, limit) {
      return selectPack.all(siteId, packId, limit).map(recordOf);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
