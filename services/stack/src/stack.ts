import { randomBytes } from "node:crypto";
import { type RunningBroker, startBroker } from "@bms/broker";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { type RunningIngestion, startIngestion } from "@bms/ingestion";
import { type RunningLive, startLive } from "@bms/live";
import { createLogger, type Logger, parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import { splitUrlCredentials } from "@bms/shared/config/mqtt-connection";
import type { StackConfig } from "@bms/shared/config/stack-config";
import { type RunningSimulator, SimulatorCliOptionsSchema, startSimulator } from "@bms/simulators";

export interface RunningStack {
  /** The engineers' console, with the token in the query. */
  consoleUrl: string;
  httpUrl: string;
  /** The broker, without credentials (safe to print). */
  mqttUrl: string;
  engineerToken: string;
  /** The engineer token was generated (not configured). */
  tokenGenerated: boolean;
  /** The simulated site: its Modbus TCP port, and the runtime to inject faults or start scenarios. */
  simulator: RunningSimulator;
  /** Credentials of the demo site's agent on the embedded broker (undefined with MQTT_URL). */
  agentCredentials?: { username: string; password: string };
  close(): Promise<void>;
}

/** The stack's simulator options, named by the environment variables they come from. */
const SIMULATOR_SETTINGS = new Map([
  ["scenario", "SIM_SCENARIO"],
  ["packs", "SIM_PACKS"],
  ["port", "SIM_MODBUS_PORT"],
]);

function secret(): string {
  return randomBytes(18).toString("base64url");
}

/** Adds credentials to a broker URL (the embedded broker refuses anonymous clients). */
function withCredentials(url: string, credentials?: { username: string; password: string }) {
  return credentials ? { url, username: credentials.username, password: credentials.password } : { url };
}

/**
 * The whole system in one process: aedes (unless MQTT_URL), ingestion, live, and a simulated site
 * (simulator + edge agent). Internal broker accounts get random passwords on every start.
 */
export async function startStack(config: StackConfig, log: Logger = createLogger("stack")): Promise<RunningStack> {
  // Checked before anything starts: a bad SIM_SCENARIO is a config error, not a half-started stack.
  const simulatorOptions = parseConfig(
    SimulatorCliOptionsSchema,
    { host: "127.0.0.1", port: config.simModbusPort, packs: config.simPacks, scenario: config.simScenario },
    "the environment",
    SIMULATOR_SETTINGS,
  );
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        log.error({ err }, "error while shutting down");
      }
    }
  };
  try {
    const accounts = {
      agent: { username: `agent-${config.siteId}`, password: secret() },
      ingestion: { username: "ingestion", password: secret() },
      live: { username: "live", password: secret() },
    };
    let broker: RunningBroker | undefined;
    let mqttUrl = config.mqttUrl;
    if (mqttUrl === undefined) {
      broker = await startBroker(
        parseConfig(
          BrokerConfig,
          {
            host: "127.0.0.1",
            port: config.mqttPort,
            dataDir: config.dataDir,
            users: [
              { ...accounts.agent, role: "agent", siteId: config.siteId },
              { ...accounts.ingestion, role: "service" },
              { ...accounts.live, role: "service" },
            ],
          },
          "stack broker",
        ),
        { log: log.child({ part: "broker" }) },
      );
      closers.push(() => broker!.close());
      mqttUrl = broker.url;
    }
    const useAccounts = broker !== undefined;

    const ingestion: RunningIngestion = await startIngestion(
      parseConfig(
        IngestionConfig,
        {
          mqtt: { ...withCredentials(mqttUrl, useAccounts ? accounts.ingestion : undefined), clientId: `bms-ingestion-${config.siteId}` },
          influx: config.influx,
          dataDir: config.dataDir,
        },
        "stack ingestion",
      ),
      { log: log.child({ part: "ingestion" }) },
    );
    closers.push(() => ingestion.close());

    const engineerToken = config.engineerToken ?? secret();
    let agent: RunningAgent | undefined;
    const live: RunningLive = await startLive(
      parseConfig(
        LiveConfig,
        {
          http: { host: "0.0.0.0", port: config.httpPort },
          mqtt: withCredentials(mqttUrl, useAccounts ? accounts.live : undefined),
          dataDir: config.dataDir,
          engineerTokens: [engineerToken],
          // History from the server the ingestion writes to (its query API detected).
          ...(config.influx ? { influx: { url: config.influx.url, token: config.influx.token, org: config.influx.org, bucket: config.influx.bucket } } : {}),
          ...(config.tokensFile === undefined ? {} : { tokensFile: config.tokensFile }),
        },
        "stack live",
      ),
      {
        log: log.child({ part: "live" }),
        extraRegistries: broker ? [ingestion.registry, broker.registry] : [ingestion.registry],
        extraHealth: {
          ingestion: () => {
            const health = ingestion.health();
            return { ok: health.mqttConnected && health.lastWriteOk, ...health };
          },
          agent: () => {
            const health = agent?.health();
            return health ? { ok: health.mqttConnected && health.devices.every((d) => d.state === "ok"), ...health } : { ok: false, state: "starting" };
          },
        },
      },
    );
    closers.push(() => live.close());

    const simulator = await startSimulator(simulatorOptions, { portSetting: "SIM_MODBUS_PORT" });
    closers.push(() => simulator.close());

    agent = await startEdgeAgent(
      parseConfig(
        EdgeAgentConfig,
        {
          siteId: config.siteId,
          mqtt: withCredentials(mqttUrl, useAccounts ? accounts.agent : undefined),
          dataDir: config.dataDir,
          devices: Array.from({ length: simulator.packCount }, (_, i) => ({
            packId: `pack-${i + 1}`,
            transport: { kind: "modbus-tcp", host: "127.0.0.1", port: simulator.port ?? config.simModbusPort, unitId: i + 1 },
            chemistry: "LFP",
          })),
        },
        "stack agent",
      ),
      { log: log.child({ part: "agent" }) },
    );
    const runningAgent = agent;
    closers.push(() => runningAgent.close());

    const httpUrl = live.url;
    return {
      consoleUrl: `${httpUrl}/?token=${encodeURIComponent(engineerToken)}`,
      httpUrl,
      mqttUrl: splitUrlCredentials({ url: mqttUrl }).url,
      engineerToken,
      tokenGenerated: config.engineerToken === undefined,
      simulator,
      ...(useAccounts ? { agentCredentials: accounts.agent } : {}),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
