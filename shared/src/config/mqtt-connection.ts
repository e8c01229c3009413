import { z } from "zod";

/**
 * Moves credentials written into the URL (`mqtt://user:pass@host:1883`, handy in MQTT_URL) into
 * username/password, so that the URL itself can be logged. Explicit fields win over the URL's.
 */
export function splitUrlCredentials<T extends { url: string; username?: string | undefined; password?: string | undefined }>(config: T): T {
  const url = new URL(config.url);
  if (url.username === "" && url.password === "") return config;
  const username = config.username ?? decodeURIComponent(url.username);
  const password = config.password ?? decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  return { ...config, url: url.toString(), username, password };
}

/** The fields of MqttConnectionConfig, for a part that adds its own (the edge agent's `tls`). */
export const MqttConnectionFields = z.object({
  /**
   * Broker URL (`mqtt://`, `mqtts://`, `ws://`).
   * @default "mqtt://127.0.0.1:1883"
   */
  url: z
    .string()
    .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, "a URL like mqtt://host:1883")
    .default("mqtt://127.0.0.1:1883"),
  /** @default undefined (anonymous) */
  username: z.string().min(1).max(128).optional(),
  /** @default undefined */
  password: z.string().max(256).optional(),
  /** MQTT client ID; persistent sessions need a stable one. */
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /**
   * Reconnect delay after the broker goes away, ms.
   * @default 1000
   */
  reconnectPeriodMs: z.number().int().min(100).max(60_000).default(1000),
  /** @default 10000 */
  connectTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
});

/** How a service or agent reaches the broker. */
export const MqttConnectionConfig = MqttConnectionFields.strict().transform(splitUrlCredentials);
export type MqttConnectionConfig = z.infer<typeof MqttConnectionConfig>;
