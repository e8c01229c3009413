import { type Logger, sendWithoutDelay } from "@bms/shared";
import type { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import { connect } from "mqtt";

/** What every partitioned worker reads over MQTT: the packs' identity and the sites' status, both retained. */
export const CONTEXT_FILTERS = ["bms/+/+/meta", "bms/+/status"] as const;

export interface BrokerContext {
  isReady(): boolean;
  /** Publishes QoS 1 (case events); resolves on the broker's PUBACK. */
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A partitioned worker's MQTT connection: samples come from the partitions, but a pack's meta
 * (its chemistry picks its rules) and a site's status (its agent's clock, link counters, online or
 * offline) are needed by whichever worker holds the pack, so every worker subscribes to them here,
 * with a clean session: the broker sends the retained ones at once. Case events go out on it too,
 * as without partitions. Nothing here is acknowledged late: a lost status is replaced by the
 * agent's next one (every 10 s by default) and the retained one.
 */
export function startBrokerContext(
  config: MqttConnectionConfig,
  workerId: string,
  onMessage: (topic: string, payload: Buffer) => void,
  log: Logger,
): BrokerContext {
  let ready = false;
  const client = connect(config.url, {
    clientId: `bms-ingestion-${workerId}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64),
    username: config.username,
    password: config.password,
    clean: true,
    resubscribe: false,
    reconnectPeriod: config.reconnectPeriodMs,
    connectTimeout: config.connectTimeoutMs,
  });
  sendWithoutDelay(client);
  client.on("connect", () => {
    client.subscribe([...CONTEXT_FILTERS], { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) {
        log.error({ err, filters: CONTEXT_FILTERS }, "the broker refused the meta and status subscriptions (check the ingestion account's ACL)");
        return;
      }
      ready = true;
      log.info({ url: config.url }, "reading pack meta and site status from the MQTT broker");
    });
  });
  client.on("close", () => {
    ready = false;
  });
  client.on("error", (err) => log.warn({ err: err.message, url: config.url }, "MQTT error"));
  client.on("message", (topic, payload) => onMessage(topic, payload));
  return {
    isReady: () => ready && client.connected,
    async publish(topic, payload) {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    async close() {
      ready = false;
      await client.endAsync();
    },
  };
}
