export type { PostgresCaseStore } from "./pg-case-store";
export type { PostgresOptions } from "./pg-database";
export { openPostgresStores, type PostgresStores, type PostgresStoresOptions } from "./postgres-stores";
