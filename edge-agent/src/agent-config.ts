import { dirname, isAbsolute, resolve } from "node:path";
import { loadConfig } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { loadDeviceProfiles } from "./device-profiles";
import { mqttTlsAndCredentials } from "./mqtt-options";

/** Environment variables that override the config file (docs/architecture.md, Contracts). */
export const EDGE_AGENT_ENV = {
  DATA_DIR: { path: ["dataDir"] },
  MQTT_URL: { path: ["mqtt", "url"] },
} as const;

/**
 * Reads and validates a site config (JSON or YAML), with the profile and TLS files it names
 * (relative paths are relative to the config file); throws ConfigError with one line per problem.
 * The returned config has those paths made absolute.
 */
export function loadEdgeAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): EdgeAgentConfig {
  const config = loadConfig(EdgeAgentConfig, { file, env, envBindings: EDGE_AGENT_ENV });
  const dir = dirname(resolve(file));
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(dir, path));
  const devices = config.devices.map((d) => (typeof d.profile === "string" ? d : { ...d, profile: { file: absolute(d.profile.file) } }));
  const tls = config.mqtt.tls;
  const mqtt = tls
    ? {
        ...config.mqtt,
        tls: {
          ...tls,
          ...(tls.caFile ? { caFile: absolute(tls.caFile) } : {}),
          ...(tls.certFile ? { certFile: absolute(tls.certFile) } : {}),
          ...(tls.keyFile ? { keyFile: absolute(tls.keyFile) } : {}),
        },
      }
    : config.mqtt;
  // Fail now, with exit code 2, rather than once the agent runs; problems name the paths as written.
  loadDeviceProfiles(config.devices, dir, file);
  const resolved: EdgeAgentConfig = { ...config, mqtt, devices };
  mqttTlsAndCredentials(resolved.mqtt, file);
  return resolved;
}
