import { HistoryUnavailableError } from "./history-source";

export interface QueryServer {
  /** Base URL, e.g. http://influxdb:8086 (a trailing slash is ignored). */
  url: string;
  /** Sent as `Authorization: Token …` when not empty (InfluxDB 2/3; 1.8 takes `user:password`). */
  token: string;
  timeoutMs: number;
}

/** Most characters read from one answer: a month of one pack, downsampled to a few thousand points, is well under 1 MB. */
const MAX_ANSWER_CHARS = 64 * 1024 * 1024;

function describe(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: unknown }).cause;
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : "";
  return code ? `${err.message} (${code})` : err.message;
}

/** GETs `path` with `params` from the time-series server; any failure is a HistoryUnavailableError saying where and what happened. */
export async function getText(server: QueryServer, path: string, params: Record<string, string>): Promise<string> {
  const base = server.url.replace(/\/+$/, "");
  const where = `${base}${path}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${where}?${new URLSearchParams(params)}`, {
      headers: server.token === "" ? {} : { authorization: `Token ${server.token}` },
      signal: AbortSignal.timeout(server.timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    throw new HistoryUnavailableError(`the time-series server at ${where} did not answer: ${describe(err, server.timeoutMs)}`);
  }
  if (!res.ok) throw new HistoryUnavailableError(`the time-series server at ${where} answered HTTP ${res.status}: ${text.slice(0, 300).trim()}`, res.status);
  if (text.length > MAX_ANSWER_CHARS) throw new HistoryUnavailableError(`the time-series server at ${where} answered more than ${MAX_ANSWER_CHARS} characters`);
  return text;
}

/** As getText, parsed as JSON. */
export async function getJson(server: QueryServer, path: string, params: Record<string, string>): Promise<unknown> {
  const text = await getText(server, path, params);
  try {
    return JSON.parse(text);
  } catch {
    throw new HistoryUnavailableError(`the time-series server at ${server.url}${path} answered something that is not JSON: ${text.slice(0, 100)}`);
  }
}
