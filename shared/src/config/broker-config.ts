import { z } from "zod";
import { DEFAULT_PORTS } from "../defaults";
import { Id } from "../ids";

/**
 * A client ID an account may connect with: an exact ID, or a prefix ending in `*`
 * (`bms-live-*` matches `bms-live-` followed by anything).
 */
export const ClientIdPattern = z.string().regex(/^[A-Za-z0-9_-]{1,64}\*?$/, "a client ID of 1-64 letters, digits, '_' or '-', optionally ending in *");

/**
 * A broker account. `agent`: may publish only under `bms/{siteId}/#` and subscribe only to its own
 * retained status and the broker's time. `service` (ingestion, live): may subscribe to everything
 * and publish under `cases/#`. Each account connects only with its own client IDs.
 */
export const BrokerUser = z
  .object({
    username: z.string().min(1).max(128),
    password: z.string().min(8, "at least 8 characters").max(256),
    role: z.enum(["agent", "service"]),
    /** Required for role `agent`. */
    siteId: Id.optional(),
    /**
     * Client IDs this account may use; no two accounts may share one.
     * @default agent: ["edge-{siteId}"]; service: ["bms-{username}", "bms-{username}-*"]
     */
    clientIds: z.array(ClientIdPattern).min(1).max(100).optional(),
    /** Connections this account may hold at once. @default the broker's maxConnectionsPerAccount */
    maxConnections: z.number().int().min(1).max(100_000).optional(),
  })
  .strict()
  .superRefine((u, ctx) => {
    // `input` given explicitly: the default would be the whole account, password included, in the error line.
    if (u.role === "agent" && u.siteId === undefined)
      ctx.addIssue({ code: "custom", path: ["siteId"], message: "an agent account needs its siteId", input: u.siteId });
  });
export type BrokerUser = z.infer<typeof BrokerUser>;

/** The client IDs an account may use: its `clientIds`, or the default of its role. */
export function clientIdPatternsOf(user: Pick<BrokerUser, "username" | "role" | "siteId" | "clientIds">): readonly string[] {
  if (user.clientIds) return user.clientIds;
  return user.role === "agent" ? [`edge-${user.siteId ?? ""}`] : [`bms-${user.username}`, `bms-${user.username}-*`];
}

/** True when `clientId` is the pattern, or starts with the pattern's prefix when it ends in `*`. */
export function clientIdMatches(pattern: string, clientId: string): boolean {
  return pattern.endsWith("*") ? clientId.startsWith(pattern.slice(0, -1)) : clientId === pattern;
}

/** True when some client ID matches both patterns. */
function patternsOverlap(a: string, b: string): boolean {
  const prefixA = a.endsWith("*") ? a.slice(0, -1) : undefined;
  const prefixB = b.endsWith("*") ? b.slice(0, -1) : undefined;
  if (prefixA !== undefined && prefixB !== undefined) return prefixA.startsWith(prefixB) || prefixB.startsWith(prefixA);
  if (prefixA !== undefined) return b.startsWith(prefixA);
  if (prefixB !== undefined) return a.startsWith(prefixB);
  return a === b;
}

/** Failed MQTT logins per source address: a few free, then a doubling wait, attempts taken one at a time. */
export const LoginThrottleConfig = z
  .object({
    /** Failed logins from one address before waits start. @default 3 */
    freeFailures: z.number().int().min(0).max(1000).default(3),
    /** Wait before the next attempt after the first failure past freeFailures; doubles with each further one, ms. @default 500 */
    baseDelayMs: z.number().int().min(1).max(60_000).default(500),
    /** Longest wait, ms. @default 30000 */
    maxDelayMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /** An address with no failure for this long starts afresh, ms. @default 600000 */
    forgetAfterMs: z.number().int().min(1000).max(86_400_000).default(600_000),
    /** Attempts from one address waiting their turn; more are refused at once (CONNACK 3). @default 16 */
    maxWaiting: z.number().int().min(1).max(10_000).default(16),
  })
  .strict()
  .refine((t) => t.maxDelayMs >= t.baseDelayMs, { message: "must be at least baseDelayMs", path: ["maxDelayMs"] });
export type LoginThrottleConfig = z.infer<typeof LoginThrottleConfig>;

/** TLS on the MQTT listener (mqtts): PEM files. */
export const BrokerTlsConfig = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    /** CA of client certificates; with requestCert, clients must present one it signed. @default none */
    caFile: z.string().min(1).optional(),
    /** Ask clients for a certificate and refuse those without a valid one (needs caFile). @default false */
    requestCert: z.boolean().default(false),
  })
  .strict()
  .refine((t) => !t.requestCert || t.caFile !== undefined, { message: "requestCert needs caFile", path: ["caFile"] });
export type BrokerTlsConfig = z.infer<typeof BrokerTlsConfig>;

const KIB = 1024;
/** The largest packet MQTT can frame: 1 type byte, 4 length bytes, 268,435,455 bytes. */
export const MQTT_MAX_PACKET_SIZE = 268_435_460;

export const BrokerConfig = z
  .object({
    /** @default "0.0.0.0" */
    host: z.string().default("0.0.0.0"),
    /** MQTT port (env MQTT_PORT); 0 picks a free one. @default 1883 */
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.mqtt),
    /** TLS on the MQTT port (then it speaks mqtts). @default none (plain TCP) */
    tls: BrokerTlsConfig.optional(),
    /** Accept clients without credentials (they may then publish anywhere under bms/). @default false */
    allowAnonymous: z.boolean().default(false),
    /** @default [] */
    users: z.array(BrokerUser).default([]),
    /** `disk`: sessions, subscriptions, queued QoS 1 messages and retained messages in `${dataDir}/broker` (LevelDB), kept across restarts; `memory`: lost at exit. @default "disk" */
    persistence: z.enum(["disk", "memory"]).default("disk"),
    /** Where the `disk` persistence lives (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** Largest MQTT packet accepted, bytes, header included; checked from the fixed header, before authentication. @default 262144 (256 KiB) */
    maxPacketSize: z
      .number()
      .int()
      .min(64)
      .max(MQTT_MAX_PACKET_SIZE)
      .default(256 * KIB),
    /** Open connections, authenticated or not. @default 10000 */
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Connections one account may hold at once (override per user with maxConnections). @default 10 */
    maxConnectionsPerAccount: z.number().int().min(1).max(100_000).default(10),
    /** QoS 1/2 PUBLISH one client may have in flight (received, not yet stored and forwarded); past it the client is cut off. @default 1000 */
    maxInflightMessages: z.number().int().min(1).max(65_535).default(1000),
    /** ms a new connection has to send its CONNECT. @default 10000 */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** ms a frozen subscriber may hold up delivery before aedes drops it. @default 5000 */
    drainTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
    loginThrottle: LoginThrottleConfig.default({ freeFailures: 3, baseDelayMs: 500, maxDelayMs: 30_000, forgetAfterMs: 600_000, maxWaiting: 16 }),
    /** How often the broker's time is republished, retained, on `$SYS/broker/time`, ms. @default 10000 */
    timeIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
    /** Serve the broker's Prometheus metrics on http://{host}:{port}/metrics. @default none */
    metrics: z
      .object({
        /** @default "127.0.0.1" */
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Two accounts with one name: which password and role would win is a guess, so refuse.
    const seen = new Set<string>();
    const duplicates = new Set<number>();
    for (const [i, user] of config.users.entries()) {
      if (seen.has(user.username)) {
        ctx.addIssue({ code: "custom", path: ["users", i, "username"], message: "duplicate username", input: user.username });
        duplicates.add(i);
      }
      seen.add(user.username);
    }
    // A client ID two accounts may use would let one take over the other's session.
    const owners: Array<{ index: number; pattern: string }> = [];
    for (const [i, user] of config.users.entries()) {
      if (duplicates.has(i)) continue;
      const patterns = clientIdPatternsOf(user);
      for (const pattern of patterns) {
        const other = owners.find((o) => o.index !== i && patternsOverlap(o.pattern, pattern));
        if (other) {
          const given = user.clientIds !== undefined;
          ctx.addIssue({
            code: "custom",
            path: given ? ["users", i, "clientIds"] : ["users", i],
            message: `${given ? "" : "the default client IDs "}${patterns.join(", ")} overlap ${other.pattern} of users.${other.index}: give each account client IDs of its own (clientIds)`,
            input: given ? user.clientIds : user.username,
          });
          break;
        }
      }
      for (const pattern of patterns) owners.push({ index: i, pattern });
    }
  });
export type BrokerConfig = z.infer<typeof BrokerConfig>;
export type BrokerConfigInput = z.input<typeof BrokerConfig>;
