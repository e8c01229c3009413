import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ConfigError, type Logger, TOPIC_FILTERS } from "@bms/shared";
import type { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import { MqttClient } from "mqtt";
import { PubackGate } from "./puback-gate";

/** The client ID when the config sets none: stable, so the broker keeps the session across restarts. */
export const DEFAULT_INGESTION_CLIENT_ID = "bms-ingestion";

/** One message from the broker; `ack` lets its PUBACK go (once it is durable). */
export interface Delivery {
  topic: string;
  payload: Uint8Array;
  /** Lets the PUBACK go; a no-op for QoS 0 and once the connection it came on is gone. */
  ack(): void;
  /** The connection it came on: acks of one connection are released together (see MqttSource.release). */
  connection: PubackGate | null;
  messageId: number | undefined;
}

/** Takes one message; resolves when the next may come (at once, unless the taker is full). */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface MqttSource {
  /** Connected and subscribed. */
  isReady(): boolean;
  /** Resolves at the first subscription, or after `timeoutMs` (the client keeps trying). */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** Lets the PUBACKs of these deliveries go, in arrival order. */
  release(deliveries: readonly Delivery[]): void;
  /** Drops the connection without acknowledging what it holds: the broker delivers it again. */
  reconnect(reason: string): void;
  /** Publishes QoS 1; resolves on the broker's PUBACK. */
  publish(topic: string, payload: string): Promise<void>;
  /** Stops taking messages (what is not acknowledged is delivered again next session). */
  stopTaking(): void;
  /** Disconnects once the outgoing QoS 1 messages (case events) are acknowledged. */
  close(): Promise<void>;
}

/** A TCP or TLS socket to the broker, wrapped in a PUBACK gate. */
function gatedSocket(url: URL, onGate: (gate: PubackGate) => void): () => PubackGate {
  const secure = url.protocol === "mqtts:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (secure ? 8883 : 1883));
  return () => {
    const socket = secure ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    // Held PUBACKs go out in bursts after each commit, a case event right behind them: not after a delayed ACK.
    socket.setNoDelay(true);
    const gate = new PubackGate(socket);
    onGate(gate);
    return gate;
  };
}

/**
 * The ingestion's MQTT subscription to `bms/#`: persistent session (`clean: false`), QoS 1, and
 * PUBACKs held by a PubackGate until the caller releases them (after its batch is durable). The
 * subscription is sent on every connect: MQTT.js's own resubscribe is off, because with it on a
 * subscribe to a filter it already holds is skipped and answered with an empty grant list, which
 * would read as a refusal after every reconnect.
 */
export function startMqttSource(config: MqttConnectionConfig, onDelivery: DeliveryHandler, log: Logger): MqttSource {
  const url = new URL(config.url);
  if (url.protocol !== "mqtt:" && url.protocol !== "mqtts:") {
    throw new ConfigError("ingestion config", [`mqtt.url: the ingestion connects over mqtt:// or mqtts://, got ${url.protocol}//`]);
  }
  const clientId = config.clientId ?? DEFAULT_INGESTION_CLIENT_ID;
  let gate: PubackGate | null = null;
  const client = new MqttClient(
    gatedSocket(url, (g) => {
      gate = g;
    }),
    {
      clientId,
      clean: false,
      resubscribe: false,
      protocolVersion: 4,
      username: config.username,
      password: config.password,
      reconnectPeriod: config.reconnectPeriodMs,
      connectTimeout: config.connectTimeoutMs,
      manualConnect: true,
      // MQTT.js's default logger (debug) gathers its arguments into an array on every call, on or
      // off: several per message. Set DEBUG=mqttjs* to have it back.
      ...(process.env.DEBUG ? {} : { log: () => undefined }),
    },
  );
  let subscribed = false;
  let taking = true;
  const readyWaiters = new Set<() => void>();

  client.handleMessage = (packet, callback) => {
    if (!taking) {
      // No PUBACK: the broker keeps the message in our session and delivers it after the restart.
      callback(new Error("ingestion is closing"));
      return;
    }
    const connection = packet.qos > 0 ? gate : null;
    const messageId = packet.messageId;
    const delivery: Delivery = {
      topic: packet.topic,
      payload: typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload,
      connection,
      messageId,
      ack: () => {
        if (connection && messageId !== undefined) connection.release([messageId]);
      },
    };
    onDelivery(delivery).then(
      () => callback(),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
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
    if (subscribed && taking) log.warn({ url: config.url }, "lost the MQTT connection; reconnecting");
    subscribed = false;
  });
  client.on("error", (err) => {
    log.warn({ err: err.message, url: config.url }, "MQTT error");
  });
  client.connect();

  return {
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
    release(deliveries) {
      // One write per connection for a whole batch.
      const byConnection = new Map<PubackGate, number[]>();
      for (const d of deliveries) {
        if (!d.connection || d.messageId === undefined) continue;
        const ids = byConnection.get(d.connection) ?? [];
        ids.push(d.messageId);
        byConnection.set(d.connection, ids);
      }
      for (const [connection, ids] of byConnection) connection.release(ids);
    },
    reconnect(reason) {
      log.warn({ url: config.url, reason }, "dropping the MQTT connection without acknowledging what it holds; the broker delivers it again");
      gate?.destroy();
    },
    async publish(topic, payload) {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    stopTaking() {
      taking = false;
    },
    async close() {
      taking = false;
      subscribed = false;
      await client.endAsync();
    },
  };
}
