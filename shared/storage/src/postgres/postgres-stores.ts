import type { CommandStore } from "../command-store";
import type { DeadLetterStore } from "../dead-letter-store";
import { type DeadLetterLimits, deadLetterLimits } from "../store-inputs";
import type { WebhookOutbox } from "../webhook-outbox";
import { createPgCaseStore, type PostgresCaseStore } from "./pg-case-store";
import { createPgCommandStore } from "./pg-command-store";
import { connectPostgres, type PostgresOptions } from "./pg-database";
import { createPgDeadLetterStore } from "./pg-dead-letter-store";
import { migratePostgres } from "./pg-migrations";
import { PG_CASE_SCHEMA, PG_COMMAND_SCHEMA, PG_DEAD_LETTER_SCHEMA, PG_WEBHOOK_SCHEMA } from "./pg-schema";
import { createPgWebhookOutbox } from "./pg-webhook-outbox";

export interface PostgresStoresOptions extends PostgresOptions {
  /** How many dead letters are kept, and how long a payload may be. */
  deadLetters?: DeadLetterLimits;
}

/** The stores DATABASE_URL names, on one connection pool. */
export interface PostgresStores {
  /** Cases, and the rule engine's batch commit (RuleLedger) with the pack states. */
  cases: PostgresCaseStore;
  deadLetters: DeadLetterStore;
  webhooks: WebhookOutbox;
  /** The live service's remote commands. */
  commands: CommandStore;
  /** Closes every store and the pool. (Each store's own close() gives up its share; the last one ends the pool.) */
  close(): Promise<void>;
}

/**
 * Opens the PostgreSQL stores on `databaseUrl` (DATABASE_URL): connects, then brings the tables up
 * to date (numbered migrations in one transaction under an advisory lock, so several processes may
 * start at once). A server that cannot be reached, refused credentials, a missing database or a role
 * that may not create the tables is a DatabaseConnectionError naming DATABASE_URL; tables newer than
 * this software, a StoreSchemaError.
 */
export async function openPostgresStores(databaseUrl: string, options: PostgresStoresOptions = {}): Promise<PostgresStores> {
  const limits = deadLetterLimits(options.deadLetters);
  const db = await connectPostgres(databaseUrl, options);
  const releaseAll = db.retain();
  try {
    await migratePostgres(db, [PG_CASE_SCHEMA, PG_DEAD_LETTER_SCHEMA, PG_WEBHOOK_SCHEMA, PG_COMMAND_SCHEMA]);
  } catch (err) {
    await releaseAll();
    throw err;
  }
  const stores = {
    cases: createPgCaseStore(db, db.retain()),
    deadLetters: createPgDeadLetterStore(db, db.retain(), limits),
    webhooks: createPgWebhookOutbox(db, db.retain()),
    commands: createPgCommandStore(db, db.retain()),
  };
  await releaseAll();
  return {
    ...stores,
    async close() {
      await Promise.all([stores.cases.close(), stores.deadLetters.close(), stores.webhooks.close(), stores.commands.close()]);
    },
  };
}
