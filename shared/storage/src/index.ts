// PostgreSQL is `@bms/storage/postgres` (its driver loads only where it is used); the durable
// queue alone, for the edge agent, is `@bms/storage/sqlite-durable-queue`.
export { FiringInputSchema } from "./case-inputs";
export * from "./case-policy";
export type {
  CaseFilter,
  CaseStore,
  FiringInput,
  FiringOutcome,
  FiringResult,
  OpenFreezeFrame,
} from "./case-store";
export { MAX_CASE_LIST_LIMIT } from "./case-store-core";
export type { CommandStore } from "./command-store";
export type { DeadLetter, DeadLetterStore } from "./dead-letter-store";
export type { DurableQueue, QueuedBytes, QueuedMessage } from "./durable-queue";
export type { LegacyRuleStates, PackStateRow, RuleCommand, RuleCommandResult, RuleLedger } from "./rule-ledger";
export type { RuleStateRow, RuleStateStore } from "./rule-state-store";
export { openSqliteCaseStore, type SqliteCaseStore } from "./sqlite-case-store";
export { openSqliteCommandStore } from "./sqlite-command-store";
export { SCHEMA_VERSION, type SchemaStep, type StoreSchema } from "./sqlite-database";
export { openSqliteDeadLetterStore, type SqliteDeadLetterStoreOptions } from "./sqlite-dead-letter-store";
export { DEFAULT_MAX_QUEUED_MESSAGES, openSqliteDurableQueue, type SqliteDurableQueueOptions } from "./sqlite-durable-queue";
export { openSqliteRuleStateStore } from "./sqlite-rule-state-store";
export { openSqliteWebhookOutbox } from "./sqlite-webhook-outbox";
export {
  CaseTransitionError,
  DatabaseConnectionError,
  type DatabaseProblem,
  StoreCorruptError,
  StoreInputError,
  StoreSchemaError,
} from "./storage-errors";
export { DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS, DEFAULT_MAX_DEAD_LETTERS, type DeadLetterLimits } from "./store-inputs";
export type { NewWebhookDelivery, WebhookDelivery, WebhookOutbox } from "./webhook-outbox";
