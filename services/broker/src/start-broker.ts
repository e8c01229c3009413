import { type EventEmitter, once } from "node:events";
import type { Socket } from "node:net";
import { boundPort, createLogger, type Logger, listen, type ProbeServer, serveProbes } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import { Aedes, type Client } from "aedes";
import type { Registry } from "prom-client";
import { authorizePublishTopic, authorizeSubscribeTopic } from "./broker-acl";
import { createAuthenticate, preview } from "./broker-authentication";
import { publishBrokerTime } from "./broker-clock";
import { type BrokerIdentity, describeIdentity } from "./broker-identity";
import { createListener } from "./broker-listener";
import { createBrokerMetrics } from "./broker-metrics";
import { openBrokerPersistence } from "./broker-persistence";
import { InflightCounter } from "./connection-limits";
import { PacketSizeLimitedConnection } from "./packet-size-guard";

export interface RunningBroker {
  port: number;
  /** mqtt://127.0.0.1:PORT (mqtts:// with TLS), for clients on this machine. */
  url: string;
  aedes: Aedes;
  /** The broker's Prometheus metrics (bms_broker_*). */
  registry: Registry;
  /** http://host:port/metrics when the `metrics` option is set. */
  metricsUrl?: string;
  /** Stops listening, disconnects every client, lets the last stores finish and closes the persistence. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  /** @default createLogger("broker") */
  log?: Logger;
}

/**
 * Starts the embedded MQTT broker (aedes, MQTT 3.1.1): accounts with passwords, client IDs bound
 * to accounts, the topic ACL of broker-acl.ts, a throttle on failed logins, a maximum packet size
 * checked before authentication, caps on connections and in-flight messages, a persistence on disk
 * (sessions and queued QoS 1 messages survive a restart), and its time on `$SYS/broker/time`.
 * Logs one line per refused connection, publish or subscription, none per message.
 */
export async function startBroker(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const log = options.log ?? createLogger("broker");
  const identities = new WeakMap<Client, BrokerIdentity>();
  const inflight = new InflightCounter<Client>(config.maxInflightMessages);
  let aedes: Aedes | undefined;
  const metrics = createBrokerMetrics(() => aedes?.connectedClients ?? 0);
  const store = await openBrokerPersistence(config, (err) => log.error({ err: String(err) }, "could not store a retained message"));

  try {
    aedes = await Aedes.createBroker({
      persistence: store.persistence,
      drainTimeout: config.drainTimeoutMs,
      connectTimeout: config.connectTimeoutMs,
      // aedes' own cap on QoS 2 messages awaiting PUBREL; InflightCounter covers QoS 1 and 2 being stored.
      maxInflightInbound: config.maxInflightMessages,
      authenticate: createAuthenticate(config, identities, log, metrics),
      authorizePublish(client, packet, done) {
        // null: the broker itself (e.g. a will replayed for a dead cluster peer).
        if (client === null) return done(null);
        const identity = identities.get(client);
        const decision = authorizePublishTopic(identity, packet.topic);
        const fields = { clientId: preview(client.id), username: describeIdentity(identity), topic: preview(packet.topic), retain: packet.retain };
        if (!decision.allowed) {
          metrics.publishesRefused.inc({ reason: "acl" });
          log.warn({ ...fields, reason: decision.reason }, "publish refused; client disconnected");
          // An error here makes aedes close the client: a misbehaving agent is cut off, not ignored.
          return done(new Error(decision.reason));
        }
        if (packet.qos > 0 && !inflight.take(client)) {
          metrics.publishesRefused.inc({ reason: "inflight" });
          const reason = `more than ${config.maxInflightMessages} messages in flight (maxInflightMessages)`;
          log.warn({ ...fields, reason }, "publish refused; client disconnected");
          return done(new Error(reason));
        }
        done(null);
      },
      published(packet, client, done) {
        if (client && packet.qos > 0) inflight.release(client);
        done(null);
      },
      authorizeSubscribe(client, subscription, done) {
        const identity = identities.get(client);
        const decision = authorizeSubscribeTopic(identity, subscription.topic);
        if (decision.allowed) return done(null, subscription);
        metrics.subscriptionsRefused.inc();
        log.warn(
          { clientId: preview(client.id), username: describeIdentity(identity), topic: preview(subscription.topic), reason: decision.reason },
          "subscription refused",
        );
        // null grants nothing: the client gets SUBACK 0x80 for this filter and stays connected.
        done(null, null);
      },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const broker = aedes;
  // Protocol errors and the disconnects the ACL causes: already logged above where they matter.
  broker.on("clientError", (client, err) => log.debug({ clientId: preview(client.id), err: err.message }, "client error"));
  broker.on("connectionError", (client, err) => log.debug({ clientId: preview(client.id), err: err.message }, "connection error"));
  // aedes emits 'error' when its persistence fails: without a listener that would end the process.
  const emitter: EventEmitter = broker; // aedes' types leave out its 'error' event
  emitter.on("error", (err: Error) => log.error({ err: err.message }, "broker persistence error"));

  const connections = new Set<Socket>();
  const server = createListener(config.tls, (conn) => {
    connections.add(conn);
    conn.once("close", () => connections.delete(conn));
    // Without it, a PUBLISH written right after a PUBACK waits for the client's delayed ACK (~40 ms a hop).
    conn.setNoDelay(true);
    const limited = new PacketSizeLimitedConnection(conn, config.maxPacketSize, (problem) => {
      metrics.connectionsRefused.inc({ reason: problem.kind === "too-large" ? "packet-too-large" : "malformed-length" });
      log.warn({ remoteAddress: conn.remoteAddress, ...problem }, "packet refused before it was read; connection closed");
    });
    broker.handle(limited);
  });
  server.maxConnections = config.maxConnections;
  server.on("drop", () => metrics.connectionsRefused.inc({ reason: "server-limit" }));
  let metricsServer: ProbeServer | undefined;
  let stopClock = () => {};
  try {
    await listen(server, config.port, config.host, "MQTT_PORT");
    stopClock = publishBrokerTime(broker, config.timeIntervalMs);
    if (config.metrics) metricsServer = await serveProbes({ registry: metrics.registry, ...config.metrics, setting: "metrics.port" });
  } catch (err) {
    stopClock();
    if (server.listening) server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await store.close();
    throw err;
  }
  const port = boundPort(server, config.port);
  log.info(
    { port, host: config.host, tls: config.tls !== undefined, users: config.users.length, allowAnonymous: config.allowAnonymous, persistence: store.location },
    "MQTT broker listening",
  );

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${config.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    aedes: broker,
    registry: metrics.registry,
    ...(metricsServer ? { metricsUrl: `${metricsServer.url}/metrics` } : {}),
    close() {
      closing ??= (async () => {
        stopClock();
        const serverClosed = once(server, "close");
        server.close();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        // Connections aedes does not know yet (no CONNECT, or a login still waiting) end here.
        for (const conn of connections) conn.destroy();
        await serverClosed;
        await metricsServer?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
