import { Counter, Gauge, Registry } from "prom-client";

/** The broker's Prometheus metrics, in a Registry of its own (several parts may share a process). */
export function createBrokerMetrics(connectedClients: () => number) {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    clients: new Gauge({
      name: "bms_broker_connected_clients",
      help: "MQTT clients connected and authenticated",
      registers,
      collect() {
        this.set(connectedClients());
      },
    }),
    loginsFailed: new Counter({
      name: "bms_broker_logins_failed_total",
      help: "MQTT logins refused for their credentials, by reason (unknown-user, wrong-password, anonymous)",
      labelNames: ["reason"] as const,
      registers,
    }),
    loginsThrottled: new Counter({
      name: "bms_broker_logins_throttled_total",
      help: "MQTT logins throttled after failures from their address: delayed, or refused unchecked (too many waiting)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: "bms_broker_connections_refused_total",
      help: "Connections refused, by reason (client-id, account-limit, server-limit, packet-too-large, malformed-length)",
      labelNames: ["reason"] as const,
      registers,
    }),
    publishesRefused: new Counter({
      name: "bms_broker_publishes_refused_total",
      help: "PUBLISH refused (the client is disconnected), by reason (acl, inflight)",
      labelNames: ["reason"] as const,
      registers,
    }),
    subscriptionsRefused: new Counter({ name: "bms_broker_subscriptions_refused_total", help: "Subscriptions refused by the ACL (SUBACK 0x80)", registers }),
  };
}
export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;
