import { type EnvBinding, loadConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";

/** Environment variables the broker reads (docs/architecture.md, Contracts): they override the file. */
export const BROKER_ENV_BINDINGS: Readonly<Record<string, EnvBinding>> = {
  MQTT_PORT: { path: ["port"], type: "int" },
  DATA_DIR: { path: ["dataDir"] },
};

/** The file (optional: every setting has a default), then MQTT_PORT and DATA_DIR; a ConfigError lists every problem. */
export function loadBrokerConfig(file?: string, env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  return loadConfig(BrokerConfig, { file, env, envBindings: BROKER_ENV_BINDINGS });
}
