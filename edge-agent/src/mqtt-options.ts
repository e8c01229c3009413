import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { ConfigError, sendWithoutDelay } from "@bms/shared";
import type { AgentMqttConfig } from "@bms/shared/config/edge-agent-config";
import mqtt, { type IClientOptions, MqttClient } from "mqtt";

/**
 * Connects to the broker at `url`. For plain `mqtt://` the client gets its TCP stream directly
 * (mqtt.js' documented `new Client(streamBuilder, options)`): `mqtt.connect` loads every transport
 * it knows (WebSocket, TLS, SOCKS) at its first connect, about 6 MB of a small gateway's memory.
 * `mqtts://`, `ws://` and `wss://` go through `mqtt.connect`.
 */
export function connectToBroker(url: string, options: IClientOptions): MqttClient {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? 1883 : Number(parsed.port);
  const client = parsed.protocol === "mqtt:" ? new MqttClient(() => createConnection({ host, port }), options) : mqtt.connect(url, options);
  // A command's result right behind the command's PUBACK, not after the broker's delayed ACK.
  sendWithoutDelay(client);
  return client;
}

/** TLS material and credentials for MQTT.js; a TLS file that cannot be read is a ConfigError naming its field. */
export function mqttTlsAndCredentials(
  config: AgentMqttConfig,
  source = "config",
): Pick<IClientOptions, "ca" | "cert" | "key" | "rejectUnauthorized" | "servername" | "username" | "password"> {
  const problems: string[] = [];
  const read = (field: "caFile" | "certFile" | "keyFile", path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`mqtt.tls.${field}: cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const tls = config.tls;
  const ca = read("caFile", tls?.caFile);
  const cert = read("certFile", tls?.certFile);
  const key = read("keyFile", tls?.keyFile);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(tls ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    ...(tls?.servername ? { servername: tls.servername } : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
  };
}
