/**
 * A store file written by newer software: refuse rather than guess at its tables. `store` names the
 * store whose tables are newer; without it, the file's format (PRAGMA user_version) is.
 */
export class StoreSchemaError extends Error {
  override readonly name = "StoreSchemaError";
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
    readonly store?: string,
  ) {
    super(
      `${file}${store ? `: its ${store} tables have` : " has"} schema version ${found}, this software supports up to ${supported}: ` +
        "upgrade this software, or point DATA_DIR at another directory",
    );
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
