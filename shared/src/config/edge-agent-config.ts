import { z } from "zod";
import { Id } from "../ids";
import { Chemistry } from "../pack-meta";
import { MqttConnectionFields, splitUrlCredentials } from "./mqtt-connection";

/**
 * The edge agent's config: every option with its default (docs/edge-agent.md has the same table).
 * Devices on one serial port share one line (one lock, one set of line settings); devices on one
 * Modbus TCP host:port share one connection.
 */

/** How long to pause before each request on a connection, ms, for devices that need a breather. */
const InterRequestDelay = z.number().int().min(0).max(10_000);

export const ModbusTcpTransportConfig = z
  .object({
    kind: z.literal("modbus-tcp"),
    host: z.string().min(1),
    /** @default 502 */
    port: z.number().int().min(1).max(65535).default(502),
    /** Modbus unit ID (slave address). @default 1 */
    unitId: z.number().int().min(0).max(255).default(1),
    /** Pause before each request on this connection, ms. @default 0 */
    interRequestDelayMs: InterRequestDelay.default(0),
  })
  .strict();

/** Serial line settings: every device on one port must give the same. */
const SerialLine = {
  /** Serial device, e.g. /dev/ttyUSB0. */
  path: z.string().min(1),
  /** @default 9600 */
  baudRate: z.number().int().min(300).max(4_000_000).default(9600),
  /** @default "none" */
  parity: z.enum(["none", "even", "odd"]).default("none"),
  /** @default 8 */
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  /** @default 1 */
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
};

export const ModbusRtuTransportConfig = z
  .object({
    kind: z.literal("modbus-rtu"),
    ...SerialLine,
    /** Modbus unit ID on the line (1–247; 0 is broadcast and never answers). @default 1 */
    unitId: z.number().int().min(1).max(247).default(1),
    /** Pause before each request on this line, ms. @default 3.5 characters at baudRate, rounded up (at least 2 ms) */
    interRequestDelayMs: InterRequestDelay.optional(),
  })
  .strict();

/** SLCAN bit rates S0..S8, bit/s (docs/protocols.md §3). */
export const SLCAN_BIT_RATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;

export const CanSlcanTransportConfig = z
  .object({
    kind: z.literal("can-slcan"),
    /** Serial device of the SLCAN (Lawicel) CAN-to-serial adapter. */
    path: z.string().min(1),
    /** Serial speed to the adapter (USB adapters ignore it). @default 115200 */
    baudRate: z.number().int().min(300).max(4_000_000).default(115_200),
    /** CAN bit rate. @default 500000 (Pylontech) */
    bitRate: z
      .number()
      .int()
      .refine((rate) => (SLCAN_BIT_RATES as readonly number[]).includes(rate), { message: `one of ${SLCAN_BIT_RATES.join(", ")}` })
      .default(500_000),
    /** +1: the BMS sends current positive while charging (this project's convention); −1 for BMSes that send the opposite. @default 1 */
    currentSign: z.union([z.literal(1), z.literal(-1)]).default(1),
    /** Added to every frame ID, for several BMSes sharing one bus. @default 0 */
    canIdOffset: z.number().int().min(0).max(0x400).default(0),
    /** Open the channel listen-only (`L`): the adapter never acknowledges or sends; use it beside an inverter. @default false */
    listenOnly: z.boolean().default(false),
    /** Send the inverter keep-alive 0x305 every second, for BMSes that go quiet without one (not with listenOnly). @default false */
    keepAlive: z.boolean().default(false),
  })
  .strict()
  .refine((t) => !(t.listenOnly && t.keepAlive), { message: "a listen-only channel cannot send the keep-alive", path: ["keepAlive"] });

export const TransportConfig = z.discriminatedUnion("kind", [ModbusTcpTransportConfig, ModbusRtuTransportConfig, CanSlcanTransportConfig]);
export type TransportConfig = z.infer<typeof TransportConfig>;

/**
 * How readings map onto the pack sample: `sunspec` (discovered: models 1, 802, 803/804, 805),
 * `pylontech-can` (the Pylontech/Victron CAN frames), or a declarative register profile file
 * (shared/src/device-profile.ts), relative to the config file.
 */
export const DeviceProfileSetting = z.union([z.enum(["sunspec", "pylontech-can"]), z.object({ file: z.string().min(1) }).strict()], {
  error: 'expected "sunspec", "pylontech-can" or { file: PATH } (a register profile)',
});
export type DeviceProfileSetting = z.infer<typeof DeviceProfileSetting>;

const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD");

/** One BMS (one pack) the agent reads. */
export const DeviceConfig = z
  .object({
    packId: Id,
    transport: TransportConfig,
    /** @default "sunspec" for Modbus, "pylontech-can" for CAN */
    profile: DeviceProfileSetting.optional(),
    /**
     * Modbus: reply timeout per request (modbus-serial has none by default); CAN: how long to wait
     * for a fresh set of frames. @default 1000 for Modbus, 3000 for CAN
     */
    timeoutMs: z.number().int().min(50).max(60_000).optional(),
    /** What the BMS cannot tell; published in meta. */
    chemistry: Chemistry.optional(),
    warrantyStart: IsoDate.optional(),
    warrantyEnd: IsoDate.optional(),
    /** The pack's manufacturing date: the agent's clock is obviously wrong before it (clock check). */
    manufacturedOn: IsoDate.optional(),
    /** Cells in the pack, for meta when the BMS does not report it (required for CAN). */
    cellCount: z.number().int().min(1).max(1024).optional(),
    /** Rated capacity, Ah, for meta when the BMS does not report it. */
    ratedCapacityAh: z.number().min(0).max(100_000).optional(),
    /** Model and serial number, for meta when the BMS does not report them. */
    model: z.string().max(64).optional(),
    serial: z.string().max(64).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const can = d.transport.kind === "can-slcan";
    const profile = d.profile ?? (can ? "pylontech-can" : "sunspec");
    if (can && profile !== "pylontech-can")
      ctx.addIssue({ code: "custom", path: ["profile"], message: 'a CAN device speaks "pylontech-can"', input: d.profile });
    if (!can && profile === "pylontech-can")
      ctx.addIssue({ code: "custom", path: ["profile"], message: '"pylontech-can" needs a can-slcan transport', input: d.profile });
    if (can && d.cellCount === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cellCount"],
        message: "the CAN frames do not carry the cell count: give it (published in meta)",
        input: d.cellCount,
      });
    }
  })
  .transform((d) => ({
    ...d,
    profile: d.profile ?? (d.transport.kind === "can-slcan" ? ("pylontech-can" as const) : ("sunspec" as const)),
    timeoutMs: d.timeoutMs ?? (d.transport.kind === "can-slcan" ? 3000 : 1000),
  }));
export type DeviceConfig = z.output<typeof DeviceConfig>;
export type DeviceConfigInput = z.input<typeof DeviceConfig>;

/** TLS to the broker (`mqtts://` or `wss://`): files in PEM. */
export const MqttTlsConfig = z
  .object({
    /** CA certificate(s) that signed the broker's certificate. @default the system's CAs */
    caFile: z.string().min(1).optional(),
    /** Client certificate and its key, for brokers that authenticate clients by certificate. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Refuse a broker whose certificate does not verify. @default true */
    rejectUnauthorized: z.boolean().default(true),
    /** Name to verify the broker's certificate against (and SNI). @default the URL's host */
    servername: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: "give certFile and keyFile together", path: ["keyFile"] });
export type MqttTlsConfig = z.infer<typeof MqttTlsConfig>;

export const AgentMqttConfig = MqttConnectionFields.extend({
  /** TLS files; only with an `mqtts://` or `wss://` URL. @default none (the system's CAs for mqtts) */
  tls: MqttTlsConfig.optional(),
})
  .strict()
  .refine((m) => m.tls === undefined || /^(mqtts|wss):/.test(m.url), { message: "TLS needs an mqtts:// or wss:// URL", path: ["tls"] })
  .transform(splitUrlCredentials);
export type AgentMqttConfig = z.infer<typeof AgentMqttConfig>;

/** The plausibility filter (docs/edge-agent.md "Plausibility filter"). */
export const PlausibilityConfig = z
  .object({
    /** @default true */
    enabled: z.boolean().default(true),
    /** A cell this far (V) from the median of its pack is suspect. @default 1 */
    cellOutlierV: z.number().min(0.05).max(5).default(1),
    /** A cell voltage change (V) larger than this from one poll to the next is suspect. @default 0.5 */
    cellStepV: z.number().min(0.01).max(5).default(0.5),
    /** A temperature change (°C) larger than this from one poll to the next is suspect. @default 20 */
    temperatureStepC: z.number().min(1).max(200).default(20),
    /** A state-of-charge change (percentage points) larger than this from one poll to the next is suspect. @default 20 */
    socStepPct: z.number().min(1).max(100).default(20),
    /** A pack-voltage change larger than this fraction of the last value from one poll to the next is suspect. @default 0.3 */
    packVoltageStep: z.number().min(0.01).max(10).default(0.3),
    /** Polls a suspect reading must persist to be believed (its samples are then published late, none lost). @default 3 */
    confirmPolls: z.number().int().min(1).max(10).default(3),
  })
  .strict();
export type PlausibilityConfig = z.infer<typeof PlausibilityConfig>;

const GIB = 1024 ** 3;

export const EdgeAgentConfig = z
  .object({
    siteId: Id,
    mqtt: AgentMqttConfig.default({ url: "mqtt://127.0.0.1:1883", reconnectPeriodMs: 1000, connectTimeoutMs: 10_000 }),
    /** How often every device is read, ms. @default 1000 */
    pollIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
    /** Backoff after a device stops answering: first and longest wait, ms. @default 1000, 30000 */
    retryMinMs: z.number().int().min(50).default(1000),
    retryMaxMs: z.number().int().min(100).default(30_000),
    /** Where the durable outbox (SQLite) lives (env DATA_DIR). @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** Outbox bound in samples: beyond it the oldest are dropped, counted and reported. @default 1000000 */
    outboxMaxMessages: z.number().int().min(100).default(1_000_000),
    /** Outbox bound in stored bytes (topic + payload): beyond it the oldest are dropped, counted and reported. @default 1073741824 (1 GiB) */
    outboxMaxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 * GIB)
      .default(GIB),
    /** How often the retained status `bms/{siteId}/status` is republished with the counters, ms. @default 10000 */
    statusIntervalMs: z.number().int().min(1000).max(3_600_000).default(10_000),
    /** How often the counters are logged, ms. @default 60000 */
    statusLogIntervalMs: z.number().int().min(1000).max(86_400_000).default(60_000),
    /** How far the agent's clock may be from the broker's before the status calls it behind or ahead, ms. @default 60000 */
    clockToleranceMs: z.number().int().min(1000).max(86_400_000).default(60_000),
    /** On shutdown, how long to wait for the broker to acknowledge what is queued (the rest stays on disk), ms. @default 5000 */
    shutdownFlushMs: z.number().int().min(0).max(600_000).default(5000),
    plausibility: PlausibilityConfig.default({
      enabled: true,
      cellOutlierV: 1,
      cellStepV: 0.5,
      temperatureStepC: 20,
      socStepPct: 20,
      packVoltageStep: 0.3,
      confirmPolls: 3,
    }),
    devices: z.array(DeviceConfig).min(1, "at least one device"),
  })
  .strict()
  .refine((c) => new Set(c.devices.map((d) => d.packId)).size === c.devices.length, { message: "packIds must be unique", path: ["devices"] })
  .refine((c) => c.retryMaxMs >= c.retryMinMs, { message: "must be at least retryMinMs", path: ["retryMaxMs"] })
  .superRefine((c, ctx) => checkSharedBuses(c.devices, ctx));
export type EdgeAgentConfig = z.output<typeof EdgeAgentConfig>;
export type EdgeAgentConfigInput = z.input<typeof EdgeAgentConfig>;

/** Where a device sits: the bus it shares with others, and its address on it. */
export function busOf(transport: TransportConfig): { bus: string; address: number } {
  switch (transport.kind) {
    case "modbus-tcp":
      return { bus: `modbus-tcp://${transport.host}:${transport.port}`, address: transport.unitId };
    case "modbus-rtu":
      return { bus: `serial:${transport.path}`, address: transport.unitId };
    case "can-slcan":
      return { bus: `serial:${transport.path}`, address: transport.canIdOffset };
  }
}

const LINE_FIELDS = ["kind", "baudRate", "parity", "dataBits", "stopBits", "bitRate", "listenOnly", "keepAlive"] as const;

/** Devices on one serial port must agree on the line, and no two devices may be one address on one bus. */
function checkSharedBuses(devices: readonly DeviceConfig[], ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  const taken = new Map<string, number>();
  devices.forEach((device, i) => {
    const { bus, address } = busOf(device.transport);
    const key = `${bus}#${address}`;
    const other = taken.get(key);
    const what = device.transport.kind === "can-slcan" ? "canIdOffset" : "unitId";
    if (other !== undefined) {
      ctx.addIssue({ code: "custom", path: ["devices", i, "transport", what], message: `devices.${other} is already this device`, input: address });
    } else taken.set(key, i);
    const leader = first.get(bus);
    if (leader === undefined) {
      first.set(bus, i);
      return;
    }
    const mine = device.transport as Record<string, unknown>;
    const theirs = devices[leader]?.transport as Record<string, unknown> | undefined;
    for (const field of LINE_FIELDS) {
      if (mine[field] !== theirs?.[field]) {
        ctx.addIssue({
          code: "custom",
          path: ["devices", i, "transport", field],
          message: `devices.${leader} on the same port has ${String(theirs?.[field])}: devices on one line share its settings`,
          input: mine[field],
        });
      }
    }
  });
}
