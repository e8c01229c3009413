import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

export interface InfluxDbServer {
  /** Base URL: `/query` (InfluxQL), `/write` (line protocol), `/ping`. */
  url: string;
  /** The database the tests write to (created at start), as an InfluxDB 2 bucket maps to it (DBRP). */
  database: string;
  /** Writes line protocol with ms timestamps through `/write`. */
  write(lines: readonly string[]): Promise<void>;
  /** Runs InfluxQL on the database and returns the JSON answer. */
  query(influxql: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's InfluxDB 1.6.7 (package `influxdb`, binary `influxd`), which speaks InfluxQL on
 * `/query` and takes line protocol on `/write` (not `/api/v2/write`), on free ports with its meta,
 * data and WAL under a temporary directory; no usage reporting, no `_internal` database.
 */
export async function startInfluxDb(database = "bms"): Promise<InfluxDbServer> {
  const binary = requireBinary("influxd", "influxdb");
  const temp = makeTempDir("bms-influxdb-");
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const configFile = join(temp.path, "influxdb.conf");
  writeFileSync(
    configFile,
    [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      "[meta]",
      `  dir = "${join(temp.path, "meta")}"`,
      "[data]",
      `  dir = "${join(temp.path, "data")}"`,
      `  wal-dir = "${join(temp.path, "wal")}"`,
      "  query-log-enabled = false",
      "[http]",
      `  bind-address = "127.0.0.1:${httpPort}"`,
      "  log-enabled = false",
      "[monitor]",
      "  store-enabled = false",
      "[logging]",
      '  level = "error"',
      "",
    ].join("\n"),
  );
  const url = `http://127.0.0.1:${httpPort}`;
  const proc = startProcess(binary, ["-config", configFile]);
  const run = async (path: string, body: string, params: Record<string, string>) => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`, { method: "POST", body });
    if (!res.ok) throw new Error(`InfluxDB ${path}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  try {
    await waitFor(async () => (await fetch(`${url}/ping`)).status === 204, 20_000, "InfluxDB /ping");
    await run("/query", "", { q: `CREATE DATABASE "${database}"` });
  } catch (err) {
    await proc.stop();
    temp.remove();
    throw new Error(`InfluxDB did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url,
    database,
    async write(lines) {
      await run("/write", lines.join("\n"), { db: database, precision: "ms" });
    },
    async query(influxql) {
      return (await run("/query", "", { db: database, q: influxql, epoch: "ms" })).json();
    },
    async stop() {
      await proc.stop();
      temp.remove();
    },
  };
}
