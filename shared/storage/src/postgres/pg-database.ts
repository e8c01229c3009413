import { createHash } from "node:crypto";
import { DatabaseError, Pool, type PoolClient, type QueryResult, types } from "pg";
import { DatabaseConnectionError, type DatabaseProblem, StoreInputError } from "../storage-errors";
import { positiveInt } from "../store-inputs";
import { decodeRow, encodeValue } from "./pg-text";

/** How the PostgreSQL stores connect; every field is optional. */
export interface PostgresOptions {
  /** Connections this process keeps open to the server (shared by the stores). @default 10 */
  poolSize?: number;
  /** The schema that holds the tables, created at first open: several deployments can share one database. @default "public" */
  schema?: string;
  /** ms to wait for the server to accept a connection before DatabaseConnectionError "unreachable". @default 10_000 */
  connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. @default "bms-telemetry" */
  applicationName?: string;
  /** Told when an idle pooled connection breaks (server restart); the next query opens a new one. @default ignored */
  onIdleError?: (err: Error) => void;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** What a statement may bind: strings are escaped on the way in (pg-text.ts), arrays feed unnest(). */
export type SqlValue = string | number | boolean | null | readonly (string | number | null)[];

/** Statements on a pooled connection (outside a transaction) or on a transaction's connection. */
export interface Sql {
  /** The rows, their strings as they were written. `name` prepares a hot statement once per connection. */
  query<R>(text: string, values?: readonly SqlValue[], name?: string): Promise<R[]>;
  /** The number of rows the statement changed. */
  run(text: string, values?: readonly SqlValue[], name?: string): Promise<number>;
}

export interface PgDatabase extends Sql {
  readonly schema: string;
  /** `database "x" at host:port, schema "s"`: for messages. */
  readonly description: string;
  /**
   * Runs `work` in one READ COMMITTED transaction, again from the start after a deadlock, a
   * serialization failure or a unique violation of one of `retryConstraints` (a race the next try
   * reads the outcome of).
   */
  transaction<T>(work: (sql: Sql) => Promise<T>, retryConstraints?: ReadonlySet<string>): Promise<T>;
  /** A 64-bit advisory lock key for these parts, distinct per schema. */
  lockKey(...parts: string[]): string;
  /** One more user of the pool; the returned function releases it, and the last release ends the pool. */
  retain(): () => Promise<void>;
}

/** Tries of one transaction that keeps meeting deadlocks or serialization failures. */
const MAX_ATTEMPTS = 8;
/** SQLSTATEs after which the whole transaction is simply run again: serialization_failure, deadlock_detected. */
const RETRY_CODES = new Set(["40001", "40P01"]);
/** Node's errors of a socket that cannot connect or broke. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "EPIPE"]);
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** ms a transaction may sit idle (its process stopped mid-way) before the server rolls it back. */
const IDLE_IN_TRANSACTION_MS = 60_000;

/** The URL as it may be shown: without its password. */
function parseUrl(databaseUrl: string): { url: URL; target: string } {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new DatabaseConnectionError("bad-url", "(not a URL)", "expected postgres://user:password@host:5432/database");
  }
  const shown = new URL(url.href);
  if (shown.password) shown.password = "***";
  shown.searchParams.delete("password");
  const target = shown.href;
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new DatabaseConnectionError("bad-url", target, `expected a postgres:// or postgresql:// URL, got ${url.protocol}//`);
  }
  return { url, target };
}

function problemOf(err: unknown): DatabaseProblem | null {
  if (err instanceof DatabaseError) {
    const code = err.code ?? "";
    if (code === "28P01" || code === "28000") return "credentials";
    if (code === "3D000") return "no-database";
    if (code === "42501") return "privileges";
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300") return "unreachable";
    return null;
  }
  if (!(err instanceof Error)) return null;
  if (/SASL|SCRAM|password/i.test(err.message)) return "credentials";
  const code = (err as NodeJS.ErrnoException).code;
  if ((code !== undefined && SOCKET_CODES.has(code)) || /Connection terminated|timeout expired|not queryable|connection error/i.test(err.message)) {
    return "unreachable";
  }
  return null;
}

/** A connection problem as a DatabaseConnectionError that says what to check; other errors as they are. */
function explain(err: unknown, url: URL, target: string, schema: string): unknown {
  const problem = problemOf(err);
  if (problem === null) return err;
  const reason = err instanceof Error ? err.message : String(err);
  const user = decodeURIComponent(url.username) || "(default user)";
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  const where = `${url.hostname || "localhost"}:${url.port || "5432"}`;
  const detail: Record<DatabaseProblem, string> = {
    "bad-url": reason,
    unreachable: `cannot use the PostgreSQL server at ${where} (${reason}): is it running and accepting TCP connections there? Check the host and port in DATABASE_URL`,
    credentials: `the server refused role "${user}" (${reason}): check the user name and password in DATABASE_URL, and the server's pg_hba.conf`,
    "no-database": `database "${database}" does not exist on ${where}: create it (createdb --owner=${user} ${database}) or fix the database name in DATABASE_URL`,
    privileges: `role "${user}" lacks a privilege (${reason}): make it the owner of database "${database}" (or GRANT CREATE ON SCHEMA ${schema} TO ${user}), or run the migrations once as the owner`,
  };
  return new DatabaseConnectionError(problem, target, detail[problem], { cause: err });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first half of SHA-256 as a signed 64-bit integer, in decimal: an advisory lock key. */
function hashKey(text: string): string {
  return createHash("sha256").update(text).digest().readBigInt64BE(0).toString();
}

/**
 * Opens a pool on DATABASE_URL and checks that it can connect; failures to reach the server, refused
 * credentials and a missing database are DatabaseConnectionError naming DATABASE_URL (without its
 * password). bigint columns come back as numbers (times in ms, counters), and every connection
 * works in `schema`.
 */
export async function connectPostgres(databaseUrl: string, options: PostgresOptions = {}): Promise<PgDatabase> {
  if (typeof databaseUrl !== "string" || databaseUrl.trim() === "") {
    throw new DatabaseConnectionError("bad-url", "(empty)", "set it to postgres://user:password@host:5432/database");
  }
  const { url, target } = parseUrl(databaseUrl);
  const schema = options.schema ?? "public";
  if (!SCHEMA_NAME.test(schema))
    throw new StoreInputError(`schema must be 1-63 lower-case letters, digits or '_' (not first a digit), got ${JSON.stringify(schema)}`);
  const pool = new Pool({
    connectionString: databaseUrl,
    max: positiveInt(options.poolSize ?? DEFAULT_POOL_SIZE, "poolSize"),
    connectionTimeoutMillis: positiveInt(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, "connectTimeoutMs"),
    application_name: options.applicationName ?? "bms-telemetry",
    // A transaction left open by a frozen process would hold its packs' locks: the server ends it.
    options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`,
    keepAlive: true,
    types: { getTypeParser: (id, format) => (id === types.builtins.INT8 ? Number : types.getTypeParser(id, format)) },
  });
  // Without a listener, a connection that breaks while idle would crash the process.
  pool.on("error", (err) => options.onIdleError?.(err));
  const fail = (err: unknown) => explain(err, url, target, schema);

  const sqlOn = (client: Pool | PoolClient): Sql => {
    const query = async (text: string, values: readonly SqlValue[] = [], name?: string): Promise<Pick<QueryResult, "rows" | "rowCount">> => {
      try {
        const result: QueryResult | QueryResult[] = await client.query({ text, values: values.map(encodeValue), ...(name === undefined ? {} : { name }) });
        // Several statements in one text (a migration step) answer one result each: the last counts.
        return Array.isArray(result) ? (result.at(-1) ?? { rows: [], rowCount: 0 }) : result;
      } catch (err) {
        throw fail(err);
      }
    };
    return {
      async query<R>(text: string, values?: readonly SqlValue[], name?: string) {
        return (await query(text, values, name)).rows.map((row: Record<string, unknown>) => decodeRow(row) as R);
      },
      async run(text: string, values?: readonly SqlValue[], name?: string) {
        return (await query(text, values, name)).rowCount ?? 0;
      },
    };
  };

  const retryable = (err: unknown, constraints: ReadonlySet<string>) =>
    err instanceof DatabaseError && (RETRY_CODES.has(err.code ?? "") || (err.code === "23505" && constraints.has(err.constraint ?? "")));

  const transaction = async <T>(work: (sql: Sql) => Promise<T>, retryConstraints: ReadonlySet<string> = new Set()): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw fail(err);
      }
      let broken: unknown;
      // A lent connection that breaks emits "error": without a listener that would crash the process.
      // The query in flight fails too, and that failure is what the caller gets.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on("error", onError);
      const sql = sqlOn(client);
      try {
        await sql.run("BEGIN");
        const result = await work(sql);
        await sql.run("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch((rollbackErr: unknown) => {
          broken = rollbackErr;
        });
        if (retryable(err, retryConstraints) && attempt < MAX_ATTEMPTS) {
          await sleep(Math.random() * 5 * 2 ** attempt);
          continue;
        }
        // Driver errors were explained where they happened (sqlOn); the policy's own errors pass as they are.
        throw err;
      } finally {
        // A broken connection (its ROLLBACK failed, or it emitted an error) is closed, not lent again.
        client.off("error", onError);
        client.release(broken === undefined ? undefined : true);
      }
    }
  };

  let users = 0;
  let ended: Promise<void> | undefined;
  const end = () => {
    ended ??= pool.end();
    return ended;
  };
  const db: PgDatabase = {
    ...sqlOn(pool),
    schema,
    description: `database "${decodeURIComponent(url.pathname.slice(1))}" at ${url.hostname}:${url.port || "5432"}, schema "${schema}"`,
    transaction,
    lockKey: (...parts) => hashKey([schema, ...parts].join("\u0000")),
    retain() {
      users++;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        if (--users === 0) await end();
      };
    },
  };
  try {
    await db.query("SELECT 1");
  } catch (err) {
    await end();
    throw err;
  }
  return db;
}
