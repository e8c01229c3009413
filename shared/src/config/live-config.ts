import { z } from "zod";
import { AccessToken, EngineerRole, TokenText } from "../access";
import { DEFAULT_PORTS } from "../defaults";
import { WebhookEndpoint } from "./ingestion-config";
import { MqttConnectionConfig } from "./mqtt-connection";
import { DatabaseUrl, RedisUrl } from "./scale-out-config";

export { EngineerRole };

/** A plain string is an admin of every site named `admin` (ENGINEER_TOKEN); an object is a TOKENS_FILE entry. */
export const EngineerToken = z.union([TokenText, AccessToken]);
export type EngineerToken = z.infer<typeof EngineerToken>;

/** An address or CIDR range (`10.0.0.0/8`, `::1`) of a reverse proxy whose X-Forwarded-For is believed. */
const ProxyAddress = z.string().regex(/^[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?$/, "an IP address or CIDR range, e.g. 10.0.0.1 or 10.0.0.0/8");

/** The monthly follow-up reports: when and where they go (docs/warranty-analytics.md). */
export const ReportsConfig = z
  .object({
    /** SMTP server as a URL (`smtp://user:pass@host:587`, `smtps://…`; env SMTP_URL); unset: no email. @default none */
    smtpUrl: z
      .string()
      .regex(/^smtps?:\/\//, "an smtp:// or smtps:// URL")
      .optional(),
    /** Sender of the report emails. @default "BMS follow-up <reports@localhost>" */
    from: z.string().min(3).max(200).default("BMS follow-up <reports@localhost>"),
    /** A receiver of every customer's report (JSON with the PDF), signed as the case webhooks are: `{ url, secret }`. @default none */
    webhook: WebhookEndpoint.pick({ url: true, secret: true }).strict().optional(),
    /** Send each customer last month's report when the month turns (UTC); off: reports only on request. @default true */
    schedule: z.boolean().default(true),
    /** How often the scheduler looks whether a report is due (and retries one that failed), ms. @default 3600000 */
    checkEveryMs: z.number().int().min(1000).max(86_400_000).default(3_600_000),
  })
  .strict();
export type ReportsConfig = z.infer<typeof ReportsConfig>;

/**
 * The time-series server the ingestion writes to, read for pack history (the same INFLUX_*
 * variables as the ingestion). Absent: history comes from the live service's own buffer.
 */
export const LiveInfluxConfig = z
  .object({
    /** env INFLUX_URL, e.g. http://influxdb:8086 */
    url: z.string().url(),
    /** env INFLUX_TOKEN: sent as `Authorization: Token …` (InfluxDB 1.8 takes `user:password`). @default "" */
    token: z.string().default(""),
    /** env INFLUX_ORG (not needed by the query APIs; kept so that one set of variables serves every service). @default "" */
    org: z.string().default(""),
    /** env INFLUX_BUCKET: InfluxQL's database (InfluxDB 2 maps each bucket to a database of its name). @default "bms" */
    bucket: z.string().min(1).default("bms"),
    /**
     * env HISTORY_QUERY_API: `influxql` (`/query`: InfluxDB 1.8+, 2.x, 3.x), `victoriametrics`
     * (its Prometheus API), or `auto`: VictoriaMetrics when the server answers `/api/v1/query`. @default "auto"
     */
    queryApi: z.enum(["auto", "influxql", "victoriametrics"]).default("auto"),
    /** HTTP timeout of one query, ms; past it the history comes from the live buffer, with a warning. @default 10000 */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict();
export type LiveInfluxConfig = z.infer<typeof LiveInfluxConfig>;

export const LiveConfig = z
  .object({
    http: z
      .object({
        /** @default "0.0.0.0" */
        host: z.string().default("0.0.0.0"),
        /** env HTTP_PORT; 0 picks a free one. @default 8080 */
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.http),
        /**
         * Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client: the
         * address failed logins are throttled by. Empty: the TCP peer is the client. @default []
         */
        trustProxy: z.array(ProxyAddress).max(100).default([]),
      })
      .strict()
      .default({ host: "0.0.0.0", port: DEFAULT_PORTS.http, trustProxy: [] }),
    mqtt: MqttConnectionConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** Where the case store (SQLite) lives (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** PostgreSQL holding the cases and the webhook outbox instead of SQLite (env DATABASE_URL). @default none */
    databaseUrl: DatabaseUrl.optional(),
    /**
     * Redis for socket.io's adapter (env REDIS_URL): live nodes behind one address share rooms and
     * events, and each node subscribes upstream only to the packs and sites its engineers watch
     * (docs/scale-out.md). @default none: one node, subscribed to every pack
     */
    redisUrl: RedisUrl.optional(),
    /**
     * Bearer tokens of engineers (env ENGINEER_TOKEN adds one, an admin of every site). A plain
     * string is an admin of every site named `admin`; an object has the form of a TOKENS_FILE
     * entry (`{ token, role, name?, sites?, customer? }`). With `tokensFile`, at least one token
     * in all. @default []
     */
    engineerTokens: z.array(EngineerToken).max(100_000).default([]),
    /** A TOKENS_FILE (YAML or JSON: `{ tokens, customers? }`), read at start (env TOKENS_FILE). @default none */
    tokensFile: z.string().min(1).optional(),
    /**
     * A rule file layered over the ingestion's shipped rules, as the ingestion's `rulesFile`: the
     * console highlights values with the limits the rules use. @default none (the shipped rules)
     */
    rulesFile: z.string().min(1).optional(),
    /**
     * Grafana beside the console (env GRAFANA_URL, as the engineer's browser reaches it, e.g.
     * http://localhost:3000): the pack page links to its provisioned pack and cells dashboards. @default none
     */
    grafanaUrl: z
      .string()
      .url()
      .regex(/^https?:\/\//, "an http:// or https:// URL")
      .optional(),
    /** Where pack history is read from; absent: the live buffer (`historyPerPack` samples per pack). @default none */
    influx: LiveInfluxConfig.optional(),
    /** Samples kept in memory per pack (compactly: the fields of GET /api/packs/:siteId/:packId/history). @default 600 */
    historyPerPack: z.number().int().min(1).max(100_000).default(600),
    /**
     * Packs tracked in memory; samples of further packs are not kept (counted as rejected), so a
     * misbehaving publisher cannot grow the service's memory. @default 10000
     */
    maxPacks: z.number().int().min(1).max(1_000_000).optional(),
    /** A pack's live samples go out at once, then at most one per this many ms (the newest). @default 200 */
    sampleTickMs: z.number().int().min(20).max(10_000).optional(),
    /** Rooms (site or site+pack) one socket may subscribe to. @default 100 */
    maxSubscriptionsPerSocket: z.number().int().min(1).max(10_000).optional(),
    /**
     * `subscribe`/`unsubscribe` messages one socket may send at once (a console subscribes to each
     * of its sites when it connects); past it, `subscribesPerSecond`. @default 100
     */
    subscribeBurst: z.number().int().min(1).max(10_000).optional(),
    /** `subscribe`/`unsubscribe` messages per second one socket may send after its burst; a socket refused `subscribeBurst` more times than that rate works off is dropped. @default 10 */
    subscribesPerSecond: z.number().min(0.1).max(1000).optional(),
    /** Bytes waiting to be sent to a socket past which it is slow: it misses samples and snapshots until it catches up. @default 1048576 */
    slowSocketBytes: z
      .number()
      .int()
      .min(1024)
      .max(1 << 30)
      .optional(),
    /** Bytes waiting to be sent to a socket past which it is disconnected. @default 8388608 */
    maxSocketBufferBytes: z
      .number()
      .int()
      .min(1024)
      .max(1 << 30)
      .optional(),
    /** Failed logins from one address: the first blocks the address this long, each next one twice as long. @default 500 */
    loginThrottleInitialMs: z.number().int().min(0).max(3_600_000).optional(),
    /** The longest block after failed logins. @default 30000 */
    loginThrottleMaxMs: z.number().int().min(0).max(86_400_000).optional(),
    /** Monthly follow-up reports by email and webhook. @default none: reports only on request (GET /api/reports/monthly) */
    reports: ReportsConfig.optional(),
  })
  .strict();
export type LiveConfig = z.infer<typeof LiveConfig>;

/** Defaults of the optional LiveConfig fields (optional so that existing LiveConfig literals stay valid). */
export const LIVE_DEFAULTS = {
  maxPacks: 10_000,
  sampleTickMs: 200,
  maxSubscriptionsPerSocket: 100,
  subscribeBurst: 100,
  subscribesPerSecond: 10,
  slowSocketBytes: 1 << 20,
  maxSocketBufferBytes: 8 << 20,
  loginThrottleInitialMs: 500,
  loginThrottleMaxMs: 30_000,
} as const;
