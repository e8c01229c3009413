/**
 * A store written by newer software: refuse rather than guess at its tables. `file` names the SQLite
 * file or the PostgreSQL database; `store` the store whose tables are newer (without it, the file's
 * format, PRAGMA user_version); `setting` the setting that points at another one.
 */
export class StoreSchemaError extends Error {
  override readonly name = "StoreSchemaError";
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
    readonly store?: string,
    setting = "point DATA_DIR at another directory",
  ) {
    super(
      `${file}${store ? `: its ${store} tables have` : " has"} schema version ${found}, this software supports up to ${supported}: ` +
        `upgrade this software, or ${setting}`,
    );
  }
}

/**
 * What keeps the PostgreSQL stores from the database: a malformed URL, a server that cannot be
 * reached (or went away), credentials refused, a database that does not exist, a role that may not
 * create the tables.
 */
export type DatabaseProblem = "bad-url" | "unreachable" | "credentials" | "no-database" | "privileges";

/** The database named by DATABASE_URL cannot be used; `target` is that URL without its password. */
export class DatabaseConnectionError extends Error {
  override readonly name = "DatabaseConnectionError";
  /** The setting to check. */
  readonly setting = "DATABASE_URL";
  constructor(
    readonly problem: DatabaseProblem,
    readonly target: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`DATABASE_URL ${target}: ${detail}`, options);
  }
}

/** A caller passed something a store cannot accept (bad option, malformed case input). */
export class StoreInputError extends Error {
  override readonly name = "StoreInputError";
}

/** A case cannot move to the requested status from the one it is in (CASE_TRANSITIONS in shared/src/support-case.ts). */
export class CaseTransitionError extends Error {
  override readonly name = "CaseTransitionError";
  constructor(
    readonly caseId: string,
    readonly from: string,
    readonly to: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `case ${caseId} is ${from} and cannot become ${to}: ${
        allowed.length > 0
          ? `from ${from} it can only become ${allowed.join(" or ")}`
          : "a closed case stays closed (the rules reopen it when its fault returns)"
      }`,
    );
  }
}

/** A stored row that no longer matches its schema (hand-edited or corrupted file). */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";
}
