import { join } from "node:path";
import type { Logger } from "@bms/shared";
import type { IngestionConfig } from "@bms/shared/config/ingestion-config";
import {
  type CaseStore,
  type DeadLetterStore,
  type LegacyRuleStates,
  openSqliteCaseStore,
  openSqliteDeadLetterStore,
  openSqliteWebhookOutbox,
  type RuleLedger,
  type WebhookOutbox,
} from "@bms/storage";
import { openPostgresStores } from "@bms/storage/postgres";
import { redactUrl } from "./partitions/partition-source";

/** The cases and the rules' ledger; a store that kept rule state the old way (SQLite) converts it at start. */
export type IngestionCaseStore = CaseStore & RuleLedger & Partial<LegacyRuleStates>;

/** Files under dataDir. */
export const INGESTION_FILES = { spool: "ingestion.db", deadLetters: "dead-letters.db", cases: "cases.db" } as const;

export interface IngestionStores {
  caseStore: IngestionCaseStore;
  deadLetters: DeadLetterStore;
  outbox: WebhookOutbox;
  /** Closes what was opened here (a case store the caller gave is left open). */
  close(): Promise<void>;
}

/**
 * The shared stores: PostgreSQL when `databaseUrl` (DATABASE_URL) is set, so that several workers
 * and live nodes share cases, rule state, dead letters and the webhook outbox; else SQLite files
 * under dataDir. (The write spool stays a local SQLite file either way.)
 */
export async function openIngestionStores(config: IngestionConfig, given: IngestionCaseStore | undefined, log: Logger): Promise<IngestionStores> {
  if (config.databaseUrl) {
    const pg = await openPostgresStores(config.databaseUrl, { applicationName: "bms-ingestion" });
    log.info({ database: redactUrl(config.databaseUrl) }, "cases, rule state, dead letters and webhooks in PostgreSQL");
    return {
      caseStore: given ?? pg.cases,
      deadLetters: pg.deadLetters,
      outbox: pg.webhooks,
      close: () => pg.close(),
    };
  }
  const deadLetters = openSqliteDeadLetterStore(join(config.dataDir, INGESTION_FILES.deadLetters));
  const casesFile = join(config.dataDir, INGESTION_FILES.cases);
  let caseStore: IngestionCaseStore | undefined;
  try {
    caseStore = given ?? openSqliteCaseStore(casesFile);
    const outbox = openSqliteWebhookOutbox(casesFile);
    const owned = given === undefined ? caseStore : undefined;
    return {
      caseStore,
      deadLetters,
      outbox,
      async close() {
        await deadLetters.close();
        await outbox.close();
        await owned?.close();
      },
    };
  } catch (err) {
    await deadLetters.close();
    if (given === undefined) await caseStore?.close();
    throw err;
  }
}
