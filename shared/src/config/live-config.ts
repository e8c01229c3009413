import { z } from "zod";
import { DEFAULT_PORTS } from "../defaults";
import { MqttConnectionConfig } from "./mqtt-connection";

export const EngineerRole = z.enum(["viewer", "engineer", "admin"]);
export type EngineerRole = z.infer<typeof EngineerRole>;

const TokenText = z.string().min(16, "at least 16 characters").max(512);

export const EngineerToken = z.union([
  TokenText,
  z
    .object({
      token: TokenText,
      role: EngineerRole,
      /** Who this is, in the case timeline. */
      name: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[\p{L}\p{N}\p{P}\p{Zs}]+$/u, "letters, digits, punctuation and spaces"),
    })
    .strict(),
]);
export type EngineerToken = z.infer<typeof EngineerToken>;

export const LiveConfig = z
  .object({
    http: z
      .object({
        /** @default "0.0.0.0" */
        host: z.string().default("0.0.0.0"),
        /** env HTTP_PORT; 0 picks a free one. @default 8080 */
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.http),
      })
      .strict()
      .default({ host: "0.0.0.0", port: DEFAULT_PORTS.http }),
    mqtt: MqttConnectionConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** Where the case store (SQLite) lives (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /**
     * Bearer tokens of engineers (env ENGINEER_TOKEN adds one, an admin). A plain string is an admin
     * token named `admin`; `{ token, role, name }` gives a role (viewer: read only; engineer: work
     * cases; admin: also the webhook log) and the name the case timeline records. At least one.
     */
    engineerTokens: z.array(EngineerToken).min(1, "at least one engineer token (set ENGINEER_TOKEN)"),
    /** Samples kept in memory per pack for the console's charts. @default 600 */
    historyPerPack: z.number().int().min(1).max(100_000).default(600),
    /**
     * Packs tracked in memory; samples of further packs are not kept (counted as rejected), so a
     * misbehaving publisher cannot grow the service's memory. @default 10000
     */
    maxPacks: z.number().int().min(1).max(1_000_000).optional(),
    /** Live samples are coalesced per pack and sent at most once per tick, ms. @default 200 */
    sampleTickMs: z.number().int().min(20).max(10_000).optional(),
    /** Rooms (site or site+pack) one socket may subscribe to. @default 100 */
    maxSubscriptionsPerSocket: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type LiveConfig = z.infer<typeof LiveConfig>;

/** Defaults of the optional LiveConfig fields (optional so that existing LiveConfig literals stay valid). */
export const LIVE_DEFAULTS = {
  maxPacks: 10_000,
  sampleTickMs: 200,
  maxSubscriptionsPerSocket: 100,
} as const;
