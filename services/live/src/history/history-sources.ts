import type { Logger } from "@bms/shared";
import type { LiveInfluxConfig } from "@bms/shared/config/live-config";
import type { PackState } from "../pack-state";
import { type HistoryAnswer, type HistoryRequest, type HistorySource, type HistorySourceKind, HistoryUnavailableError } from "./history-source";
import { InfluxQlHistory } from "./influxql-history";
import { LiveBufferHistory } from "./live-buffer-history";
import { getJson } from "./query-http";
import { VictoriaMetricsHistory } from "./victoria-metrics-history";

/** The live service's history sources: the time-series server's (when configured) and its own buffer, to fall back on. */
export interface HistorySources {
  /** The time-series server's, or the live buffer when none is configured. */
  primary: HistorySource;
  /** The live buffer, answering when the server does not. */
  buffer: HistorySource;
}

/**
 * Picks the query API of the time-series server: `influx.queryApi` (env HISTORY_QUERY_API)
 * `influxql` or `victoriametrics`, or `auto` (the default): VictoriaMetrics answers the Prometheus
 * API's `GET /api/v1/query?query=1` with `"status":"success"`, InfluxDB (1.x, 2.x, 3.x) does not.
 */
export function openHistorySources(influx: LiveInfluxConfig | undefined, state: PackState, log: Logger): HistorySources {
  const buffer = new LiveBufferHistory(state);
  if (influx === undefined) return { primary: buffer, buffer };
  const server = { url: influx.url, token: influx.token, timeoutMs: influx.timeoutMs };
  const influxql = () => new InfluxQlHistory({ ...server, database: influx.bucket });
  const victoria = () => new VictoriaMetricsHistory(server);
  if (influx.queryApi === "influxql") return { primary: influxql(), buffer };
  if (influx.queryApi === "victoriametrics") return { primary: victoria(), buffer };
  return {
    primary: new DetectedHistory(async () => {
      const answer = await getJson(server, "/api/v1/query", { query: "1" }).catch((err: unknown) => {
        // An InfluxDB answers 404 (an HTTP answer: it is not VictoriaMetrics); no answer at all is thrown on.
        if (err instanceof HistoryUnavailableError && err.status !== undefined) return null;
        throw err;
      });
      const isVictoria = typeof answer === "object" && answer !== null && (answer as { status?: unknown }).status === "success";
      log.info({ url: influx.url, queryApi: isVictoria ? "victoriametrics" : "influxql" }, "time-series server's query API detected");
      return isVictoria ? victoria() : influxql();
    }),
    buffer,
  };
}

/** A source chosen by asking the server once, on the first read that reaches it. */
class DetectedHistory implements HistorySource {
  private chosen: HistorySource | null = null;
  private detecting: Promise<HistorySource> | null = null;

  constructor(private readonly detect: () => Promise<HistorySource>) {}

  get kind(): HistorySourceKind {
    return this.chosen?.kind ?? "influxql";
  }

  async read(request: HistoryRequest): Promise<HistoryAnswer> {
    if (this.chosen === null) {
      this.detecting ??= this.detect().finally(() => {
        this.detecting = null;
      });
      this.chosen = await this.detecting;
    }
    return this.chosen.read(request);
  }
}
