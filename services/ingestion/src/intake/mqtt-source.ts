import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { ConfigError, type Logger, TOPIC_FILTERS } from "@bms/shared";
import type { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import { MqttClient } from "mqtt";
import { HeldAcks } from "./held-acks";

/** The client ID when the config sets none: stable, so the broker keeps the session across restarts. */
export const DEFAULT_INGESTION_CLIENT_ID = "bms-ingestion";

/** One message from the broker; `MqttSource.release` lets its PUBACK go (once it is durable). */
export interface Delivery {
  topic: string;
  payload: Uint8Array;
  /** The PUBACKs of the connection it came on (none for QoS 0): acks of one connection are released together (see MqttSource.release). */
  connection: HeldAcks | null;
  messageId: number | undefined;
}

/** Takes one message; undefined when the next may come at once, else a promise that resolves when it may (the taker is full). */
export type DeliveryHandler = (delivery: Delivery) => Promise<void> | undefined;

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

/** A TCP or TLS socket to the broker, and the PUBACKs held for it. */
function brokerSocket(url: URL, onConnection: (acks: HeldAcks) => void): () => Duplex {
  const secure = url.protocol === "mqtts:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (secure ? 8883 : 1883));
  return () => {
    const socket = secure ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    // Held PUBACKs go out in bursts after each commit, a case event right behind them: not after a delayed ACK.
    socket.setNoDelay(true);
    onConnection(new HeldAcks(socket));
    return socket;
  };
}

/**
 * Given to `handleMessage`'s callback for a message whose PUBACK is held: MQTT.js then sends none
 * of its own and goes on to the next message (mqtt.js's publish handler returns on an error before
 * it writes the PUBACK). One instance: it is never thrown or shown.
 */
const ACK_HELD = new Error("the PUBACK is held until the message is durable");

/**
 * The ingestion's MQTT subscription to `bms/#`: persistent session (`clean: false`), QoS 1, and
 * PUBACKs held (HeldAcks) until the caller releases them (after its batch is durable). The
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
  let acks: HeldAcks | null = null;
  const client = new MqttClient(
    brokerSocket(url, (a) => {
      acks = a;
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
    const { messageId } = packet;
    const connection = packet.qos > 0 ? acks : null;
    if (connection && messageId !== undefined) connection.hold(messageId);
    const delivery: Delivery = {
      topic: packet.topic,
      payload: typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload,
      connection,
      messageId,
    };
    const room = onDelivery(delivery);
    if (room === undefined) {
      callback(connection ? ACK_HELD : undefined);
      return;
    }
    room.then(
      () => callback(connection ? ACK_HELD : undefined),
      (err: unknown) => {
        // Not taken: no PUBACK in this session, and the ones after it do not wait for it.
        if (connection && messageId !== undefined) connection.forget(messageId);
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
      const byConnection = new Map<HeldAcks, number[]>();
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
      client.stream.destroy();
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
