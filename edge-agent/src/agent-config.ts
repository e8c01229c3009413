import { loadConfig } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";

/** Environment variables that override the config file (design.md). */
export const EDGE_AGENT_ENV = {
  DATA_DIR: { path: ["dataDir"] },
  MQTT_URL: { path: ["mqtt", "url"] },
} as const;

/** Reads and validates a site config (JSON or YAML); throws ConfigError with one line per problem. */
export function loadEdgeAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): EdgeAgentConfig {
  return loadConfig(EdgeAgentConfig, { file, env, envBindings: EDGE_AGENT_ENV });
}
