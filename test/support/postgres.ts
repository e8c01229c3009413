import { execFileSync } from "node:child_process";
import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

/** Where Debian's postgresql package (PostgreSQL 15) puts initdb and postgres: off the PATH. */
const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";
const DEBIAN_PACKAGE = "postgresql";

/** The login role the stores use in the tests (password auth), and its password. */
export const APP_ROLE = "bms";
export const APP_PASSWORD = "bms-test-password";

export interface PostgresServer {
  port: number;
  /** The superuser `postgres` (trusted on 127.0.0.1), on `database`. */
  adminUrl(database?: string): string;
  /** A database of its own (owned by APP_ROLE); the URL to it as APP_ROLE, with its password. */
  createDatabase(): Promise<string>;
  /** Runs SQL as the superuser on `database`. */
  admin(sql: string, database?: string): Promise<void>;
  stop(): Promise<void>;
}

/** The uid and gid of the Debian package's `postgres` system user (PostgreSQL refuses to run as root). */
function postgresUser(): { uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error(
      `the tests run PostgreSQL as the 'postgres' user, which the Debian package '${DEBIAN_PACKAGE}' creates (apt-get install -y ${DEBIAN_PACKAGE})`,
    );
  }
}

// The superuser may connect without a password (to create databases); everyone else needs one.
const PG_HBA = `host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
`;

/**
 * Starts Debian's PostgreSQL 15 in a temporary directory on a free port of 127.0.0.1 (no Unix socket),
 * as the `postgres` user when the tests run as root, with fsync off (test data need not survive a
 * power cut) unless `durable` (the benchmark measures both). A test file starts one server and gives
 * each suite its own database.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  const initdb = requireBinary("initdb", DEBIAN_PACKAGE, [POSTGRES_BIN]);
  const postgres = requireBinary("postgres", DEBIAN_PACKAGE, [POSTGRES_BIN]);
  const user: { uid?: number; gid?: number } = process.getuid?.() === 0 ? postgresUser() : {};
  const dir = makeTempDir("bms-pg-");
  const data = join(dir.path, "data");
  if (user.uid !== undefined && user.gid !== undefined) chownSync(dir.path, user.uid, user.gid);
  try {
    execFileSync(initdb, ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], {
      ...user,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    dir.remove();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`initdb failed: ${(err as Error).message}\n${stderr}`);
  }
  writeFileSync(join(data, "pg_hba.conf"), PG_HBA);

  const port = await freePort();
  const durability = options.durable === true ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"];
  const settings = [...durability, "max_connections=200", "log_min_messages=warning"];
  const proc = startProcess(postgres, ["-D", data, "-h", "127.0.0.1", "-p", String(port), "-k", "", ...settings.flatMap((s) => ["-c", s])], {
    ...user,
    stopSignal: "SIGINT", // fast shutdown: ends open sessions instead of waiting for them
  });
  const adminUrl = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = async (sql: string, database?: string) => {
    const client = new Client(adminUrl(database));
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    await proc.stop();
    dir.remove();
  };
  try {
    await waitFor(
      async () => {
        await admin("SELECT 1");
        return true;
      },
      60_000,
      "PostgreSQL to accept connections",
    );
    await admin(`CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PASSWORD}'`);
  } catch (err) {
    await stop();
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  let databases = 0;
  return {
    port,
    adminUrl,
    admin,
    async createDatabase() {
      const name = `bms_test_${++databases}`;
      await admin(`CREATE DATABASE ${name} OWNER ${APP_ROLE}`);
      return `postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    stop,
  };
}
