import { StoreSchemaError } from "../storage-errors";
import type { PgDatabase, Sql } from "./pg-database";

/** One numbered step of a store's tables in PostgreSQL: SQL run in the migration's transaction. */
export interface PgSchemaStep {
  version: number;
  /** What it changes, in a few words (kept in schema_migrations). */
  does: string;
  sql: string;
}

/** A store's tables: the stores share a schema, each with its own version. */
export interface PgStoreSchema {
  store: string;
  /** Versions 1, 2, 3… in order. */
  steps: readonly PgSchemaStep[];
}

async function tableExists(sql: Sql, table: string): Promise<boolean> {
  const [row] = await sql.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [table]);
  return row?.found === true;
}

/**
 * Brings the stores' tables up to date in ONE transaction, under an advisory lock, so that two
 * processes starting together do not both migrate: the second waits, then finds nothing to do.
 * Each step is recorded in schema_migrations (store, version, does, applied_at). A store whose
 * recorded version is above its known steps (newer software wrote it) is a StoreSchemaError, and
 * nothing changes. Nothing is created when nothing is missing, so a role that may only read and
 * write the tables can open a database its owner migrated.
 */
export async function migratePostgres(db: PgDatabase, schemas: readonly PgStoreSchema[], now = Date.now()): Promise<void> {
  for (const schema of schemas) {
    schema.steps.forEach((step, i) => {
      if (step.version !== i + 1) throw new Error(`${schema.store} schema: step ${i} has version ${step.version}, expected ${i + 1}`);
    });
  }
  await db.transaction(async (sql) => {
    await sql.query("SELECT pg_advisory_xact_lock($1)", [db.lockKey("schema-migrations")]);
    const [found] = await sql.query<{ found: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found", [db.schema]);
    if (found?.found !== true) await sql.query(`CREATE SCHEMA ${db.schema}`);
    if (!(await tableExists(sql, `${db.schema}.schema_migrations`))) {
      await sql.query(`
        CREATE TABLE ${db.schema}.schema_migrations (
          store text NOT NULL,
          version integer NOT NULL,
          does text NOT NULL,
          applied_at bigint NOT NULL,
          PRIMARY KEY (store, version)
        )`);
    }
    const rows = await sql.query<{ store: string; version: number }>("SELECT store, max(version) AS version FROM schema_migrations GROUP BY store");
    const versions = new Map(rows.map((r) => [r.store, r.version]));
    for (const schema of schemas) {
      const version = versions.get(schema.store) ?? 0;
      if (version > schema.steps.length) {
        throw new StoreSchemaError(`PostgreSQL ${db.description}`, version, schema.steps.length, schema.store, "point DATABASE_URL at another database");
      }
      for (const step of schema.steps.slice(version)) {
        await sql.query(step.sql);
        await sql.query("INSERT INTO schema_migrations (store, version, does, applied_at) VALUES ($1, $2, $3, $4)", [
          schema.store,
          step.version,
          step.does,
          now,
        ]);
      }
    }
  });
}
