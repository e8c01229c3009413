import { z } from "zod";
import { Severity } from "../support-case";
import { MqttConnectionConfig } from "./mqtt-connection";
import { AmqpIntakeConfig, DatabaseUrl } from "./scale-out-config";

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
    /**
     * Lines per write request (Telegraf's default batch; 500 samples of two lines). A burst ends with
     * what gathered during the last writes still to go: with 5000-line requests that tail was 5–15 %
     * of a 20 000-sample burst, with 1000 it is 1–3 %, at the same CPU per sample (the ingestion bench).
     * @default 1000
     */
    batchSize: z.number().int().min(1).max(100_000).default(1000),
    /**
     * Longest a sample waits before a write is attempted, ms (≤ 1000): the history stays within a
     * few tens of milliseconds of live, and the end of a burst is not held back (200 ms left 5–10 %
     * of a 20 000-sample burst waiting, in the ingestion bench). At a trickle that is 20 small writes
     * a second at most; with two in flight, a slow server gathers more per write by itself.
     * @default 50
     */
    flushIntervalMs: z.number().int().min(10).max(1000).default(50),
    /** HTTP timeout of one write, ms. @default 10000 */
    timeoutMs: z.number().int().min(100).default(10_000),
    /**
     * Gzip write requests (env INFLUX_GZIP=1). Worth it across a slow or metered link (a hosted
     * InfluxDB); next to the server it costs the ingestion CPU for nothing. @default false
     */
    gzip: z.boolean().default(false),
  })
  .strict();
export type InfluxConfig = z.infer<typeof InfluxConfig>;

/** One receiver of outgoing webhooks (the 24/7 hotline's tools). */
export const WebhookEndpoint = z
  .object({
    /** http(s) URL that takes a POST with a JSON body. */
    url: z
      .string()
      .url()
      .regex(/^https?:\/\//, "an http:// or https:// URL"),
    /** HMAC-SHA256 key: the `X-BMS-Signature` header is `t=<ms>,v1=<hex of HMAC(secret, "<ms>.<body>")>`. */
    secret: z.string().min(16, "at least 16 characters"),
    /** Which case events it gets. @default ["opened", "reopened", "escalated"] */
    events: z
      .array(z.enum(["opened", "reopened", "escalated"]))
      .min(1)
      .default(["opened", "reopened", "escalated"]),
    /** Only cases at or above this severity. @default "warning" (all) */
    minSeverity: Severity.default("warning"),
  })
  .strict();
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const WebhooksConfig = z
  .object({
    /** @default [] */
    endpoints: z.array(WebhookEndpoint).max(50).default([]),
    /** Attempts before a delivery is given up (and logged as failed). @default 12 */
    maxAttempts: z.number().int().min(1).max(100).default(12),
    /** First retry delay, ms; doubles per attempt. @default 1000 */
    initialBackoffMs: z.number().int().min(10).max(3_600_000).default(1000),
    /** Longest retry delay, ms. @default 600000 (10 min) */
    maxBackoffMs: z.number().int().min(10).max(86_400_000).default(600_000),
    /** HTTP timeout of one attempt, ms. @default 5000 */
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
  })
  .strict();
export type WebhooksConfig = z.infer<typeof WebhooksConfig>;

export const CasesConfig = z
  .object({
    /** A fault that returns within this many days of its case being resolved or closed reopens it; later, a new case opens. @default 30 */
    reopenWithinDays: z.number().min(0).max(3650).default(30),
  })
  .strict();
export type CasesConfig = z.infer<typeof CasesConfig>;

/** Group commit: messages are validated and made durable a batch at a time, and their PUBACKs go out after the commit. */
export const IntakeConfig = z
  .object({
    /** Most messages in one batch. @default 500 */
    maxBatch: z.number().int().min(1).max(10_000).default(500),
    /** Longest the first message of a batch waits for others while nothing else is committing, ms. @default 5 */
    maxDelayMs: z.number().int().min(0).max(1000).default(5),
    /** Messages taken but not yet committed before the broker is made to wait (TCP backpressure). @default 2000 */
    maxPending: z.number().int().min(1).max(100_000).default(2000),
  })
  .strict();
export type IntakeConfig = z.infer<typeof IntakeConfig>;

/** What one agent account (one site) may send; past a limit a message is refused, dead-lettered and counted, never stored. */
export const IntakeLimits = z
  .object({
    /** Packs one site may report; samples of further packs are refused. @default 256 */
    maxPacksPerSite: z.number().int().min(1).max(100_000).default(256),
    /** Cell voltages, and temperature sensors, in one sample. @default 512 */
    maxCellsPerPack: z.number().int().min(1).max(1024).default(512),
    /** Nesting of a JSON payload, checked before it is parsed (a sample nests 2 deep). @default 16 */
    maxJsonDepth: z.number().int().min(2).max(1000).default(16),
    /** How far a message's ts may be ahead of its arrival, ms; past it: "clock ahead". @default 300000 (5 min) */
    maxClockAheadMs: z.number().int().min(1000).max(86_400_000).default(300_000),
  })
  .strict();
export type IntakeLimits = z.infer<typeof IntakeLimits>;

export const IngestionConfig = z
  .object({
    /**
     * The broker. Without `amqp`: the telemetry subscription. With `amqp`: pack meta and site status
     * (retained) are read here, and case events published here. (env MQTT_URL)
     */
    mqtt: MqttConnectionConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** Partitioned intake from RabbitMQ (env AMQP_URL), docs/scale-out.md. @default none: one MQTT subscription */
    amqp: AmqpIntakeConfig.optional(),
    /** PostgreSQL for cases, rule state, dead letters and the webhook outbox (env DATABASE_URL). @default none: SQLite files in dataDir */
    databaseUrl: DatabaseUrl.optional(),
    /** Absent: no time-series writes. */
    influx: InfluxConfig.optional(),
    /** SQLite files: cases, dead letters, the write spool (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** A rule file (YAML or JSON, docs/rules-and-cases.md) layered over services/ingestion/rules/default-rules.yaml. @default none */
    rulesFile: z.string().min(1).optional(),
    /** Rule-file content given inline (same format), layered after `rulesFile`. @default {} */
    rules: z.record(z.string(), z.unknown()).default({}),
    cases: CasesConfig.default({ reopenWithinDays: 30 }),
    webhooks: WebhooksConfig.default({ endpoints: [], maxAttempts: 12, initialBackoffMs: 1000, maxBackoffMs: 600_000, timeoutMs: 5000 }),
    /** Bound on the write spool (samples waiting for the time-series server); past it the oldest are dropped, logged and counted. @default 1000000 */
    spoolMaxMessages: z.number().int().min(100).max(100_000_000).default(1_000_000),
    /** Largest MQTT payload accepted, bytes; larger ones are dead-lettered. @default 262144 (256 KiB) */
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    intake: IntakeConfig.default({ maxBatch: 500, maxDelayMs: 5, maxPending: 2000 }),
    limits: IntakeLimits.default({ maxPacksPerSite: 256, maxCellsPerPack: 512, maxJsonDepth: 16, maxClockAheadMs: 300_000 }),
    /**
     * `GET /metrics` and `GET /healthz` on http://{host}:{port}, for an ingestion running on its own
     * (env INGESTION_HTTP_HOST, INGESTION_HTTP_PORT); under `npm start` the live service's /metrics
     * includes the ingestion's. @default none
     */
    http: z
      .object({
        /** @default "127.0.0.1" */
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535),
      })
      .strict()
      .optional(),
    /** How long close() waits for the spool to drain to the time-series server, ms; what is left stays spooled for the next start. @default 10000 */
    closeTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
  })
  .strict();
export type IngestionConfig = z.infer<typeof IngestionConfig>;
