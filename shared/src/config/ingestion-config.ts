import { z } from "zod";
import { Severity } from "../support-case";
import { MqttConnectionConfig } from "./mqtt-connection";

/** Where time series go; absent = no time-series writes (said at start-up). */
export const InfluxConfig = z
  .object({
    /** env INFLUX_URL, e.g. http://127.0.0.1:8086 */
    url: z.string().url(),
    /** env INFLUX_TOKEN */
    token: z.string().default(""),
    /** env INFLUX_ORG */
    org: z.string().default(""),
    /** env INFLUX_BUCKET @default "bms" */
    bucket: z.string().min(1).default("bms"),
    /** Lines per write request. @default 5000 */
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    /** Longest a sample waits before it is written, ms (≤ 1000). @default 1000 */
    flushIntervalMs: z.number().int().min(10).max(1000).default(1000),
    /** HTTP timeout of one write, ms. @default 10000 */
    timeoutMs: z.number().int().min(100).default(10_000),
  })
  .strict();
export type InfluxConfig = z.infer<typeof InfluxConfig>;

const ThresholdRule = z
  .object({
    /** @default true */
    enabled: z.boolean().default(true),
    /** The condition fires above this. */
    threshold: z.number(),
    /** And clears only below this (hysteresis). */
    clearBelow: z.number(),
    /** Consecutive samples over threshold before it fires (debounce). @default 3 */
    debounceSamples: z.number().int().min(1).max(1000).default(3),
    severity: Severity,
  })
  .strict()
  .refine((r) => r.clearBelow <= r.threshold, { message: "clearBelow must not exceed threshold", path: ["clearBelow"] });

export const RulesConfig = z
  .object({
    /** Any cell above threshold V. @default 3.65 V, clears below 3.55 V, major */
    cellOverVoltage: ThresholdRule.default({ enabled: true, threshold: 3.65, clearBelow: 3.55, debounceSamples: 3, severity: "major" }),
    /** Any sensor above threshold °C. @default 55 °C, clears below 50 °C, critical */
    overTemperature: ThresholdRule.default({ enabled: true, threshold: 55, clearBelow: 50, debounceSamples: 3, severity: "critical" }),
    /** No sample from a pack that was seen for timeoutMs. @default 60000 ms, minor */
    noData: z
      .object({
        enabled: z.boolean().default(true),
        timeoutMs: z.number().int().min(100).default(60_000),
        severity: Severity.default("minor"),
      })
      .strict()
      .default({ enabled: true, timeoutMs: 60_000, severity: "minor" }),
  })
  .strict();
export type RulesConfig = z.infer<typeof RulesConfig>;

export const IngestionConfig = z
  .object({
    mqtt: MqttConnectionConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** Absent: no time-series writes. */
    influx: InfluxConfig.optional(),
    /** SQLite files: cases, dead letters, the write spool (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    rules: RulesConfig.default(RulesConfig.parse({})),
    /** Bound on the write spool (samples waiting for the time-series server); past it the oldest are dropped, logged and counted. @default 1000000 */
    spoolMaxMessages: z.number().int().min(100).max(100_000_000).default(1_000_000),
    /** Largest MQTT payload accepted, bytes; larger ones are dead-lettered. @default 262144 (256 KiB) */
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    /** How long close() waits for the spool to drain to the time-series server, ms; what is left stays spooled for the next start. @default 10000 */
    closeTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
  })
  .strict();
export type IngestionConfig = z.infer<typeof IngestionConfig>;
