import { afterAll, beforeAll } from "vitest";
import { type PostgresServer, startPostgres } from "../../../../test/support/postgres";
import { openPostgresStores, type PostgresStores, type PostgresStoresOptions } from "../../src/postgres/postgres-stores";

type StoreName = "cases" | "deadLetters" | "webhooks" | "commands";

/**
 * One PostgreSQL server for a test file, one database for its suites, and a schema per store
 * "file": the conformance suites name a fresh file per test, and here each gets a fresh schema.
 */
export function postgresForFile() {
  let server: PostgresServer | undefined;
  let url = "";
  const schemas = new Map<string, string>();
  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  const schemaFor = (file: string) => {
    let schema = schemas.get(file);
    if (schema === undefined) {
      schema = `t${schemas.size + 1}`;
      schemas.set(file, schema);
    }
    return schema;
  };
  const stores = (file: string, options: PostgresStoresOptions = {}): Promise<PostgresStores> =>
    openPostgresStores(url, { poolSize: 4, schema: schemaFor(file), ...options });
  /** One of the stores at `file`; the others are closed at once, so its close() ends the pool. */
  const only = async <K extends StoreName>(file: string, name: K, options?: PostgresStoresOptions): Promise<PostgresStores[K]> => {
    const opened = await stores(file, options);
    for (const other of ["cases", "deadLetters", "webhooks", "commands"] as const) if (other !== name) await opened[other].close();
    return opened[name];
  };
  return {
    get server(): PostgresServer {
      if (!server) throw new Error("the PostgreSQL server has not started");
      return server;
    },
    get url() {
      return url;
    },
    schemaFor,
    stores,
    only,
  };
}
