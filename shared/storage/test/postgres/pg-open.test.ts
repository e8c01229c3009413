import { createServer, type Server } from "node:net";
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../../../../test/support/free-port";
import { APP_PASSWORD, APP_ROLE } from "../../../../test/support/postgres";
import { decodeText, encodeText } from "../../src/postgres/pg-text";
import { openPostgresStores, type PostgresStores } from "../../src/postgres/postgres-stores";
import { DatabaseConnectionError, StoreInputError, StoreSchemaError } from "../../src/storage-errors";
import { firing, T0 } from "../case-fixtures";
import { HOSTILE_STRINGS } from "../hostile-strings";
import { postgresForFile } from "./pg-stores-support";

// Opening the PostgreSQL stores: migrations, the errors a deployment meets (server, credentials,
// database, privileges, options), a server that drops its connections, and text PostgreSQL cannot hold.

const pg = postgresForFile();
let opened: PostgresStores[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});
const keep = (s: PostgresStores) => {
  opened.push(s);
  return s;
};

/** Rows of a query as the superuser, in the test file's database. */
async function adminRows<R>(sql: string): Promise<R[]> {
  const client = new Client(pg.server.adminUrl(new URL(pg.url).pathname.slice(1)));
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

/** What opening `url` throws. */
async function openError(url: string, options: Parameters<typeof openPostgresStores>[1] = {}): Promise<DatabaseConnectionError> {
  const err = await openPostgresStores(url, options).then(
    (s) => keep(s) && new Error("opened"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabaseConnectionError);
  return err as DatabaseConnectionError;
}

describe("PostgreSQL schema migrations", () => {
  it("creates the tables on an empty schema, records each step, and reopens without migrating again", async () => {
    const schema = pg.schemaFor("empty");
    const first = keep(await pg.stores("empty"));
    const steps = () =>
      adminRows<{ store: string; version: number; does: string }>(`SELECT store, version, does FROM ${schema}.schema_migrations ORDER BY store`);
    expect(await steps()).toEqual([
      { store: "cases", version: 1, does: expect.stringContaining("support cases") },
      { store: "cases", version: 2, does: "remote commands' entries recorded once per (command, status)" },
      { store: "commands", version: 1, does: "commands and command_parts" },
      { store: "dead-letters", version: 1, does: "dead_letters" },
      { store: "webhook-outbox", version: 1, does: "webhook_deliveries and webhook_cursors" },
    ]);
    const { case: c } = await first.cases.recordFiring(firing());
    await first.close();
    opened = [];
    const again = keep(await pg.stores("empty"));
    expect(await steps()).toHaveLength(5);
    expect(await again.cases.get(c.id)).toEqual(c);
  });

  it("lets five processes open an empty schema at once: one migrates, the others wait and find it done", async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => pg.stores("together")));
    all.forEach(keep);
    const rows = await adminRows(`SELECT * FROM ${pg.schemaFor("together")}.schema_migrations`);
    expect(rows).toHaveLength(5);
    const results = await Promise.all(all.map((s, i) => s.cases.recordFiring(firing({ at: T0 + i }))));
    expect(results.filter((r) => r.outcome === "opened")).toHaveLength(1);
  });

  it("refuses tables a newer version of this software wrote, naming DATABASE_URL, and changes nothing", async () => {
    keep(await pg.stores("newer"));
    const schema = pg.schemaFor("newer");
    await adminRows(`INSERT INTO ${schema}.schema_migrations VALUES ('cases', 7, 'from the future', 0)`);
    const err = await openPostgresStores(pg.url, { schema }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreSchemaError);
    expect((err as Error).message).toMatch(/its cases tables have schema version 7, this software supports up to 2: .*DATABASE_URL/);
    expect(await adminRows(`SELECT * FROM ${schema}.schema_migrations`)).toHaveLength(6);
  });
});

describe("PostgreSQL connection errors", () => {
  it("says DATABASE_URL cannot be reached, without the password", async () => {
    const port = await freePort();
    const err = await openError(`postgres://${APP_ROLE}:s3cret@127.0.0.1:${port}/bms`);
    expect(err.problem).toBe("unreachable");
    expect(err.setting).toBe("DATABASE_URL");
    expect(err.message).toMatch(
      new RegExp(`^DATABASE_URL postgres://${APP_ROLE}:\\*\\*\\*@127\\.0\\.0\\.1:${port}/bms: cannot use the PostgreSQL server at 127\\.0\\.0\\.1:${port}`),
    );
    expect(err.message).not.toContain("s3cret");
  });

  it("gives up on a server that accepts but never answers after connectTimeoutMs", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const err = await openError(`postgres://x@127.0.0.1:${port}/bms`, { connectTimeoutMs: 300 });
      expect(err.problem).toBe("unreachable");
    } finally {
      silent.close();
    }
  });

  it("says the credentials were refused, or the database does not exist", async () => {
    const url = new URL(pg.url);
    url.password = "wrong-password";
    const refused = await openError(url.href);
    expect(refused.problem).toBe("credentials");
    expect(refused.message).toMatch(/refused role "bms".*check the user name and password in DATABASE_URL/);
    expect(refused.message).not.toContain("wrong-password");
    url.password = APP_PASSWORD;
    url.pathname = "/no_such_db";
    const missing = await openError(url.href);
    expect(missing.problem).toBe("no-database");
    expect(missing.message).toMatch(/database "no_such_db" does not exist .*createdb --owner=bms no_such_db/);
    expect(missing.message).not.toContain(APP_PASSWORD);
  });

  it("refuses a malformed URL and nonsense options before connecting", async () => {
    for (const bad of ["", "not a url", "mysql://u@h/db", "http://127.0.0.1:5432/x"]) {
      expect((await openError(bad)).problem).toBe("bad-url");
    }
    for (const options of [
      { poolSize: 0 },
      { connectTimeoutMs: -1 },
      { schema: "Bad-Name" },
      { schema: "x; DROP TABLE t" },
      { deadLetters: { maxEntries: 0 } },
    ]) {
      await expect(openPostgresStores(pg.url, options)).rejects.toThrow(StoreInputError);
    }
  });

  it("says what a role lacks to create the tables, and works with read-write grants once the owner migrated", async () => {
    const url = new URL(await pg.server.createDatabase());
    const database = url.pathname.slice(1);
    await pg.server.admin("CREATE ROLE bms_rw LOGIN PASSWORD 'rw-password'");
    const rw = new URL(url.href);
    rw.username = "bms_rw";
    rw.password = "rw-password";
    const err = await openError(rw.href);
    expect(err.problem).toBe("privileges");
    expect(err.message).toMatch(/role "bms_rw" lacks a privilege .*owner of database/);
    keep(await openPostgresStores(url.href));
    await pg.server.admin(
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bms_rw; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bms_rw",
      database,
    );
    const stores = keep(await openPostgresStores(rw.href));
    expect((await stores.cases.recordFiring(firing())).outcome).toBe("opened");
    await stores.deadLetters.add({ receivedAt: T0, topic: "t", payload: "p", reason: "r" });
  });

  it("reconnects after the server dropped its connections; a transaction it cut is unreachable and wrote nothing", async () => {
    const idle: Error[] = [];
    const stores = keep(await pg.stores("dropped", { onIdleError: (e) => idle.push(e) }));
    await stores.cases.recordFiring(firing());
    const terminate = () => pg.server.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${APP_ROLE}'`);
    await terminate();
    await waitFor(() => idle.length > 0, 10_000, "the pool to notice");
    expect(await stores.cases.list()).toHaveLength(1);

    // A firing waits for the timeline clock that another session holds; then its connection is cut.
    const holder = new Client(pg.server.adminUrl(new URL(pg.url).pathname.slice(1)));
    await holder.connect();
    try {
      await holder.query(`SET search_path TO ${pg.schemaFor("dropped")}`);
      await holder.query("BEGIN");
      await holder.query("SELECT * FROM case_timeline_clock FOR UPDATE");
      const input = firing({ packId: "cut" });
      const cut = stores.cases.recordFiring(input).catch((e: unknown) => e);
      await waitFor(
        async () =>
          (await adminRows<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = '${APP_ROLE}' AND wait_event_type = 'Lock'`))[0]?.n ===
          "1",
        10_000,
        "the firing to wait for the clock",
      );
      await terminate();
      const err = await cut;
      expect(err).toBeInstanceOf(DatabaseConnectionError);
      expect((err as DatabaseConnectionError).problem).toBe("unreachable");
      await holder.query("COMMIT");
      expect(await stores.cases.list({ packId: "cut" })).toEqual([]);
      expect((await stores.cases.recordFiring(input)).outcome).toBe("opened");
    } finally {
      await holder.end();
    }
  });
});

describe("PostgreSQL text", () => {
  it("escapes U+0000 (which PostgreSQL text cannot hold) reversibly, and leaves other text as it is", () => {
    for (const s of [...HOSTILE_STRINGS, "\u0001", "\u00010", "\u0001x", "a\u0000\u0001\u0000b"]) expect(decodeText(encodeText(s))).toBe(s);
    expect(encodeText('{"a":"\\u0000"}')).toBe('{"a":"\\u0000"}');
    expect(encodeText("cell 3 at 3.71 V")).toBe("cell 3 at 3.71 V");
    expect(encodeText("a\u0000b").includes("\u0000")).toBe(false);
  });

  it("keeps hostile webhook keys, URLs, bodies, results and cursor names byte for byte", async () => {
    const { webhooks } = keep(await pg.stores("hostile-webhooks"));
    const deliveries = HOSTILE_STRINGS.map((s, i) => ({ key: `${s}#${i}`, url: `http://x/${s}`, body: s, createdAt: T0 + i }));
    expect(await webhooks.enqueue(deliveries)).toBe(HOSTILE_STRINGS.length);
    const listed = (await webhooks.list({ limit: 100 })).reverse();
    expect(listed.map((d) => [d.key, d.url, d.body])).toEqual(deliveries.map((d) => [d.key, d.url, d.body]));
    await webhooks.markFailed(listed[0]?.id ?? 0, T0, HOSTILE_STRINGS[4] ?? "", T0 + 5);
    expect((await webhooks.list({ limit: 100 })).at(-1)?.lastResult).toBe(HOSTILE_STRINGS[4]);
    for (const [i, s] of HOSTILE_STRINGS.entries()) await webhooks.setCursor(s, i);
    for (const [i, s] of HOSTILE_STRINGS.entries()) expect(await webhooks.getCursor(s)).toBe(i);
  });
});
