import { type Logger, TOPIC_FILTERS } from "@bms/shared";
import type { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import mqtt, { type MqttClient } from "mqtt";

/** The client ID when the config sets none: stable, so the broker keeps the session across restarts. */
export const DEFAULT_INGESTION_CLIENT_ID = "bms-ingestion";

export interface MqttSubscriber {
  client: MqttClient;
  /** Connected and subscribed. */
  isReady(): boolean;
  /** Resolves at the first subscription, or after `timeoutMs` (the client keeps trying). */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** Stops taking messages (unacknowledged ones are delivered again next session); resolves when the one in hand is done. */
  stopTaking(): Promise<void>;
  /** stopTaking, then disconnects once the outgoing QoS 1 messages (case events) are acknowledged. */
  close(): Promise<void>;
}

/** Called per message, in arrival order; resolves when the message is durable (then the PUBACK goes out). */
export type MessageHandler = (topic: string, payload: Uint8Array) => Promise<void>;

/**
 * A persistent-session (`clean: false`) QoS 1 subscription to `bms/#`. The PUBACK of each message
 * is held back until `onMessage` resolved: mqtt.js sends it from `handleMessage`'s callback and
 * hands over the next packet only after that, so messages are handled one at a time, in order.
 */
export function startMqttSubscriber(config: MqttConnectionConfig, onMessage: MessageHandler, log: Logger): MqttSubscriber {
  const clientId = config.clientId ?? DEFAULT_INGESTION_CLIENT_ID;
  const client = mqtt.connect(config.url, {
    clientId,
    clean: false,
    username: config.username,
    password: config.password,
    reconnectPeriod: config.reconnectPeriodMs,
    connectTimeout: config.connectTimeoutMs,
    manualConnect: true,
  });
  let subscribed = false;
  let closing = false;
  let inFlight: Promise<void> = Promise.resolve();
  const readyWaiters = new Set<() => void>();

  client.handleMessage = (packet, callback) => {
    if (closing) {
      // No PUBACK: the broker keeps the message in our session and delivers it after the restart.
      callback(new Error("ingestion is closing"));
      return;
    }
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    const handled = onMessage(packet.topic, payload);
    inFlight = handled.catch(() => undefined);
    handled.then(
      () => callback(),
      (err: unknown) => {
        log.error({ err, topic: packet.topic }, "could not store a message locally; it is not acknowledged and the broker will deliver it again");
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };

  client.on("connect", (connack) => {
    log.info({ url: config.url, clientId, sessionPresent: connack.sessionPresent }, "connected to the MQTT broker");
    client.subscribe(TOPIC_FILTERS.allBms, { qos: 1 }, (err, granted) => {
      const grant = granted?.[0];
      if (err || !grant || grant.qos === 128) {
        log.error({ err, filter: TOPIC_FILTERS.allBms }, "the broker refused the subscription (check the ingestion account's ACL)");
        return;
      }
      subscribed = true;
      for (const wake of readyWaiters) wake();
      readyWaiters.clear();
    });
  });
  client.on("close", () => {
    if (subscribed && !closing) log.warn({ url: config.url }, "lost the MQTT connection; reconnecting");
    subscribed = false;
  });
  client.on("error", (err) => {
    log.warn({ err: err.message, url: config.url }, "MQTT error");
  });
  client.connect();

  return {
    client,
    isReady: () => subscribed && client.connected,
    waitReady(timeoutMs) {
      if (subscribed) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          readyWaiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        readyWaiters.add(wake);
      });
    },
    async stopTaking() {
      closing = true;
      await inFlight;
    },
    async close() {
      await this.stopTaking();
      subscribed = false;
      await client.endAsync();
    },
  };
}
