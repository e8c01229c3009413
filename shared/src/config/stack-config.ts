import { z } from "zod";
import { DEFAULT_PORTS } from "../defaults";
import { Id } from "../ids";
import { InfluxConfig } from "./ingestion-config";

const Port = z.number().int().min(0).max(65535);

/**
 * `npm start`: the whole system in one process on embedded defaults. Read from the environment
 * (names in docs/architecture.md, Contracts); every field has a default.
 */
export const StackConfig = z
  .object({
    /** env HTTP_PORT: REST, socket.io, console, /healthz, /metrics. @default 8080 */
    httpPort: Port.default(DEFAULT_PORTS.http),
    /** env MQTT_PORT: the embedded aedes broker. @default 1883 */
    mqttPort: Port.default(DEFAULT_PORTS.mqtt),
    /** env MQTT_URL: use this broker instead; no embedded broker starts. @default undefined */
    mqttUrl: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/\S+$/, "a URL like mqtt://host:1883")
      .optional(),
    /** env DATA_DIR: SQLite files (cases, dead letters, spool) and the agent's outbox. @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** env INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET; no URL = no time-series writes. */
    influx: InfluxConfig.optional(),
    /** env ENGINEER_TOKEN; generated and printed when unset. */
    engineerToken: z.string().min(16, "at least 16 characters").optional(),
    /** env TOKENS_FILE: more engineer tokens, with roles, sites and customers (services/live/README.md). @default none */
    tokensFile: z.string().min(1).optional(),
    /** env SIM_PACKS: simulated packs on the demo site. @default 4 */
    simPacks: z.number().int().min(1).max(247).default(4),
    /**
     * env SIM_SCENARIO: a shipped simulator scenario (`simulators/scenarios/NAME.yaml`, e.g.
     * `over-temperature`) or a scenario file; the simulator checks that it exists. @default "healthy"
     */
    simScenario: z.string().min(1).default("healthy"),
    /** env SIM_MODBUS_PORT: the simulator's Modbus TCP port. @default 5020 */
    simModbusPort: Port.default(DEFAULT_PORTS.simulatorModbus),
    /** env SITE_ID: the demo site's ID. @default "demo-site" */
    siteId: Id.default("demo-site"),
  })
  .strict();
export type StackConfig = z.infer<typeof StackConfig>;

export const STACK_ENV_BINDINGS = {
  HTTP_PORT: { path: ["httpPort"], type: "int" },
  MQTT_PORT: { path: ["mqttPort"], type: "int" },
  MQTT_URL: { path: ["mqttUrl"] },
  DATA_DIR: { path: ["dataDir"] },
  INFLUX_URL: { path: ["influx", "url"] },
  INFLUX_TOKEN: { path: ["influx", "token"] },
  INFLUX_ORG: { path: ["influx", "org"] },
  INFLUX_BUCKET: { path: ["influx", "bucket"] },
  ENGINEER_TOKEN: { path: ["engineerToken"] },
  TOKENS_FILE: { path: ["tokensFile"] },
  SIM_PACKS: { path: ["simPacks"], type: "int" },
  SIM_SCENARIO: { path: ["simScenario"] },
  SIM_MODBUS_PORT: { path: ["simModbusPort"], type: "int" },
  SITE_ID: { path: ["siteId"] },
} as const;
