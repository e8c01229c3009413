import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Structured logs: one JSON line per event on stderr. Put the site and pack in the fields
 * (`log.warn({ siteId, packId, err }, "device not answering")`), not in the message.
 * LOG_LEVEL sets the level (default `info`; the tests use `warn`).
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: service, level, base: { service } }, pino.destination(2));
}
