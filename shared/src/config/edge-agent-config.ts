import { z } from "zod";
import { Id } from "../ids";
import { Chemistry } from "../pack-meta";
import { MqttConnectionConfig } from "./mqtt-connection";

export const ModbusTcpTransportConfig = z
  .object({
    kind: z.literal("modbus-tcp"),
    host: z.string().min(1),
    /** @default 502 */
    port: z.number().int().min(1).max(65535).default(502),
    /** Modbus unit ID (slave address). @default 1 */
    unitId: z.number().int().min(0).max(255).default(1),
  })
  .strict();

export const TransportConfig = z.discriminatedUnion("kind", [ModbusTcpTransportConfig]);
export type TransportConfig = z.infer<typeof TransportConfig>;

/** One BMS (one pack) the agent reads. */
export const DeviceConfig = z
  .object({
    packId: Id,
    transport: TransportConfig,
    /** How registers map onto the pack sample. @default "sunspec" */
    profile: z.literal("sunspec").default("sunspec"),
    /** Reply timeout per request, ms (modbus-serial has none by default). @default 1000 */
    timeoutMs: z.number().int().min(50).max(60_000).default(1000),
    /** What the BMS cannot tell; published in meta. */
    chemistry: Chemistry.optional(),
    warrantyStart: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
    warrantyEnd: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
  })
  .strict();
export type DeviceConfig = z.infer<typeof DeviceConfig>;

export const EdgeAgentConfig = z
  .object({
    siteId: Id,
    mqtt: MqttConnectionConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** How often every device is read, ms. @default 1000 */
    pollIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
    /** Backoff after a device stops answering: first and longest wait, ms. @default 1000, 30000 */
    retryMinMs: z.number().int().min(50).default(1000),
    retryMaxMs: z.number().int().min(100).default(30_000),
    /** Where the durable outbox (SQLite) lives (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** Outbox bound: beyond it the oldest samples are dropped and counted. @default 1000000 */
    outboxMaxMessages: z.number().int().min(100).default(1_000_000),
    devices: z.array(DeviceConfig).min(1, "at least one device"),
  })
  .strict()
  .refine((c) => new Set(c.devices.map((d) => d.packId)).size === c.devices.length, { message: "packIds must be unique", path: ["devices"] })
  .refine((c) => c.retryMaxMs >= c.retryMinMs, { message: "must be at least retryMinMs", path: ["retryMaxMs"] });
export type EdgeAgentConfig = z.infer<typeof EdgeAgentConfig>;
