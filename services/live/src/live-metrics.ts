import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** This instance's metrics, in a Registry of its own (no default process metrics: `npm start` merges registries). */
export function createLiveMetrics() {
  const registry = new Registry();
  return {
    registry,
    mqttMessages: new Counter({
      name: "bms_live_mqtt_messages_total",
      help: "MQTT messages accepted by the live service, by kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    mqttRejected: new Counter({
      name: "bms_live_mqtt_rejected_total",
      help: "MQTT messages the live service ignored, by reason (the ingestion dead-letters them)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    mqttConnected: new Gauge({
      name: "bms_live_mqtt_connected",
      help: "1 while the live service is connected and subscribed to the broker",
      registers: [registry],
    }),
    packs: new Gauge({ name: "bms_live_packs", help: "Packs held in memory", registers: [registry] }),
    sockets: new Gauge({ name: "bms_live_sockets", help: "Connected socket.io clients on /live", registers: [registry] }),
    socketsRefused: new Counter({
      name: "bms_live_sockets_refused_total",
      help: "socket.io connections refused for a missing or wrong token",
      registers: [registry],
    }),
    samplesSent: new Counter({
      name: "bms_live_samples_emitted_total",
      help: "Coalesced sample broadcasts to socket.io rooms",
      registers: [registry],
    }),
    httpForbidden: new Counter({
      name: "bms_live_http_forbidden_total",
      help: "REST requests refused because the token's role may not do that",
      registers: [registry],
    }),
    caseEventsSent: new Counter({
      name: "bms_live_case_events_emitted_total",
      help: "Case events broadcast to socket.io rooms",
      registers: [registry],
    }),
    loginFailures: new Counter({
      name: "bms_live_login_failures_total",
      help: "Wrong tokens presented (REST and socket.io), by transport; each one lengthens its address's block",
      labelNames: ["transport"] as const,
      registers: [registry],
    }),
    loginThrottled: new Counter({
      name: "bms_live_login_throttled_total",
      help: "Requests and socket.io handshakes refused unread because their address is blocked after failed logins",
      labelNames: ["transport"] as const,
      registers: [registry],
    }),
    loginBlockedAddresses: new Gauge({
      name: "bms_live_login_blocked_addresses",
      help: "Addresses (IPv4, or IPv6 /64) blocked now after failed logins",
      registers: [registry],
    }),
    socketMessagesRefused: new Counter({
      name: "bms_live_socket_messages_refused_total",
      help: "socket.io subscribe/unsubscribe messages refused, by reason (rate, invalid, scope, limit)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    socketsDropped: new Counter({
      name: "bms_live_sockets_dropped_total",
      help: "socket.io clients disconnected by the server, by reason (buffer: too much waiting to be sent; rate: kept sending after refusals)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    historySeconds: new Histogram({
      name: "bms_live_history_query_seconds",
      help: "Time to answer a pack history request, by source (influxql, victoriametrics, live)",
      labelNames: ["source"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    historyFailures: new Counter({
      name: "bms_live_history_failures_total",
      help: "History requests the time-series server did not answer (answered from the live buffer instead)",
      registers: [registry],
    }),
    httpUnauthorized: new Counter({
      name: "bms_live_http_unauthorized_total",
      help: "REST requests refused for a missing or wrong token",
      registers: [registry],
    }),
  };
}
export type LiveMetrics = ReturnType<typeof createLiveMetrics>;
