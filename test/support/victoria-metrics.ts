import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetricsServer {
  /** Base URL; the InfluxDB client writes to `${url}/api/v2/write`. */
  url: string;
  /** Makes recent writes searchable now, then reads `/api/v1/export?match[]=...` (JSON lines). */
  exportSeries(match: string): Promise<ExportedSeries[]>;
  stop(): Promise<void>;
}

/** Starts VictoriaMetrics (Debian package `victoria-metrics`) on a free port with a temporary store. */
export async function startVictoriaMetrics(): Promise<VictoriaMetricsServer> {
  const binary = requireBinary("victoria-metrics", "victoria-metrics");
  const dir = makeTempDir("bms-vm-");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(binary, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir.path}`, "-retentionPeriod=100y", "-loggerLevel=ERROR"]);
  try {
    await waitFor(async () => (await fetch(`${url}/health`)).ok, 20_000, "VictoriaMetrics /health");
  } catch (err) {
    await proc.stop();
    dir.remove();
    throw new Error(`VictoriaMetrics did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url,
    async exportSeries(match) {
      await fetch(`${url}/internal/force_flush`);
      const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
      if (!res.ok) throw new Error(`export ${match}: HTTP ${res.status} ${await res.text()}`);
      const text = await res.text();
      return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as ExportedSeries);
    },
    async stop() {
      await proc.stop();
      dir.remove();
    },
  };
}
