import type { InfluxConfig } from "@bms/shared/config/ingestion-config";
import { HttpError, InfluxDB } from "@influxdata/influxdb-client";

/** Where the drain loop sends line protocol. Rejects on any failure; nothing is retried here. */
export interface TimeSeriesWriter {
  /** `lines`: line protocol, an entry per line or several joined with newlines, as text or UTF-8 bytes. */
  write(lines: readonly (string | Uint8Array)[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A write the time-series server did not take. `permanent` means the server rejected the data
 * itself (HTTP 4xx other than 401/403/404/408/429): retrying the same lines can never succeed.
 * Everything else (network, timeout, 5xx, 429, auth or a missing bucket) is worth retrying.
 */
export class TimeSeriesWriteError extends Error {
  override readonly name = "TimeSeriesWriteError";
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** 401/403/404 are configuration (token, org, bucket), not bad data: retry, never dead-letter. */
const RETRYABLE_CLIENT_ERRORS = new Set([401, 403, 404, 408, 429]);

function hint(status: number): string {
  if (status === 401 || status === 403) return " (check INFLUX_TOKEN)";
  if (status === 404) return " (check INFLUX_ORG and INFLUX_BUCKET)";
  return "";
}

function oneLine(text: string | undefined, max = 300): string {
  const flat = (text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/**
 * The request body: the entries joined with newlines. Bytes are joined as bytes and decoded once,
 * as one string (the client's transport takes text): no string per entry on the heap.
 */
function bodyOf(lines: readonly (string | Uint8Array)[]): string {
  let size = lines.length - 1;
  for (const line of lines) size += typeof line === "string" ? Buffer.byteLength(line) : line.byteLength;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const line of lines) {
    if (at > 0) body[at++] = 0x0a;
    if (typeof line === "string") at += body.write(line, at);
    else {
      body.set(line, at);
      at += line.byteLength;
    }
  }
  return body.toString("utf8");
}

/**
 * Writes through the InfluxDB client's HTTP transport to `/api/v2/write` (InfluxDB 2/3,
 * VictoriaMetrics), precision ms, gzipped when `config.gzip`. The client's own WriteApi is not
 * used: it buffers, retries and drops on its own, while our durable spool is the only retry buffer,
 * so one call = one request.
 */
export function createInfluxWriter(config: InfluxConfig): TimeSeriesWriter {
  const influx = new InfluxDB({ url: config.url, token: config.token || undefined, timeout: config.timeoutMs });
  const query = new URLSearchParams({ org: config.org, bucket: config.bucket, precision: "ms" });
  const path = `/api/v2/write?${query.toString()}`;
  let closed = false;
  return {
    async write(lines) {
      if (closed) throw new TimeSeriesWriteError("the time-series writer is closed", undefined, false);
      if (lines.length === 0) return;
      try {
        await influx.transport.request(path, bodyOf(lines), {
          method: "POST",
          headers: { "content-type": "text/plain; charset=utf-8" },
          // The client gzips bodies above this many bytes (in libuv's thread pool, still this machine's CPU).
          ...(config.gzip ? { gzipThreshold: 1000 } : {}),
        });
      } catch (err) {
        if (err instanceof HttpError) {
          const status = err.statusCode;
          const permanent = status >= 400 && status < 500 && !RETRYABLE_CLIENT_ERRORS.has(status);
          const body = oneLine(err.body) || oneLine(err.message);
          throw new TimeSeriesWriteError(`HTTP ${status} from ${config.url}${hint(status)}: ${body}`, status, permanent);
        }
        const message = err instanceof Error ? err.message : String(err);
        throw new TimeSeriesWriteError(`cannot reach ${config.url}: ${oneLine(message)}`, undefined, false);
      }
    },
    async close() {
      closed = true;
    },
  };
}
