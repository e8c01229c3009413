import { mkdirSync } from "node:fs";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { freePort, waitFor } from "./free-port";
import { makeTempDir, type TempDir } from "./temp-dir";

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetricsServer {
  /** Base URL; the InfluxDB client writes to `${url}/api/v2/write`. */
  url: string;
  /** The server's process (its CPU time, in benches). */
  pid: number;
  /** Makes recent writes searchable now, then reads `/api/v1/export?match[]=...` (JSON lines). */
  exportSeries(match: string): Promise<ExportedSeries[]>;
  stop(): Promise<void>;
}

/**
 * Makes recent writes searchable now, then reads `/api/v1/export?match[]=...` (JSON lines) from the
 * server at `url`, up to an hour ahead (the export ends at "now" by default, and benches date their
 * bursts a millisecond apart, ahead of the clock).
 */
export async function exportSeries(url: string, match: string): Promise<ExportedSeries[]> {
  await fetch(`${url}/internal/force_flush`);
  const end = Math.ceil(Date.now() / 1000) + 3600;
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}&end=${end}`);
  if (!res.ok) throw new Error(`export ${match}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ExportedSeries);
}

export interface VictoriaMetricsOptions {
  /** Listen here instead of on a free port (to start it again where a client expects it). */
  port?: number;
  /** Keep the data here instead of in a temporary store; the caller owns it: `stop()` leaves it, for a restart with the same data. */
  storageDir?: string;
  /** Keep one point per series and millisecond, as InfluxDB does (a point written twice is stored once). @default false: every point written */
  dedup?: boolean;
}

/** Starts VictoriaMetrics (Debian package `victoria-metrics`), by default on a free port with a temporary store. */
export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetricsServer> {
  const binary = requireBinary("victoria-metrics", "victoria-metrics");
  let storageDir = options.storageDir;
  let temp: TempDir | undefined;
  if (storageDir === undefined) {
    temp = makeTempDir("bms-vm-");
    storageDir = temp.path;
  } else {
    mkdirSync(storageDir, { recursive: true });
  }
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(binary, [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${storageDir}`,
    "-retentionPeriod=100y",
    "-loggerLevel=ERROR",
    ...(options.dedup ? ["-dedup.minScrapeInterval=1ms"] : []),
  ]);
  try {
    await waitFor(async () => (await fetch(`${url}/health`)).ok, 20_000, "VictoriaMetrics /health");
  } catch (err) {
    await proc.stop();
    temp?.remove();
    throw new Error(`VictoriaMetrics did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url,
    pid: proc.child.pid as number,
    exportSeries: (match) => exportSeries(url, match),
    async stop() {
      await proc.stop();
      temp?.remove();
    },
  };
}
