import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createLogger, type Logger, type PackMeta, type PackSample, type SiteStatus, topics } from "@bms/shared";
import type { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { openSqliteDurableQueue } from "@bms/storage";
import mqtt from "mqtt";
import { type DeviceHealth, DevicePoller } from "./device-poller";
import { OutboxPublisher } from "./outbox-publisher";
import { ModbusTcpTransport } from "./transports/modbus-tcp-transport";
import type { RegisterTransport } from "./transports/register-transport";

export interface AgentHealth {
  mqttConnected: boolean;
  /** Samples waiting in the durable outbox (not yet acknowledged by the broker). */
  outboxSize: number;
  devices: DeviceHealth[];
  /** Samples the broker acknowledged since start. */
  published: number;
  /** Samples dropped because the outbox reached outboxMaxMessages. */
  dropped: number;
}

export interface RunningAgent {
  health(): AgentHealth;
  close(): Promise<void>;
}

export interface StartEdgeAgentOptions {
  /** @default createLogger("edge-agent") */
  log?: Logger;
}

/** Outbox state key of the last sequence number handed out. */
const SEQ_STATE_KEY = "seq";
/** How long a clean shutdown waits for the broker to take the `offline` status, ms. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 2000;

function statusPayload(state: SiteStatus["state"]): string {
  const status: SiteStatus = { state, ts: Date.now() };
  return JSON.stringify(status);
}

/**
 * Starts the edge agent: one poller per configured pack, a durable outbox
 * (`${dataDir}/outbox-${siteId}.db`) drained to MQTT, retained site status with an `offline` last will.
 */
export async function startEdgeAgent(config: EdgeAgentConfig, options: StartEdgeAgentOptions = {}): Promise<RunningAgent> {
  const log = options.log ?? createLogger("edge-agent");
  const { siteId } = config;
  mkdirSync(config.dataDir, { recursive: true });
  const queue = openSqliteDurableQueue(join(config.dataDir, `outbox-${siteId}.db`), { maxMessages: config.outboxMaxMessages });
  let seq = Number(queue.getState(SEQ_STATE_KEY) ?? "0");
  if (!Number.isSafeInteger(seq) || seq < 0) seq = 0;
  const nextSeq = () => {
    seq += 1;
    // Persisted before the sample is queued: a crash in between leaves a gap, never a duplicate seq.
    queue.setState(SEQ_STATE_KEY, String(seq));
    return seq;
  };

  const statusTopic = topics.status(siteId);
  const client = mqtt.connect(config.mqtt.url, {
    clientId: config.mqtt.clientId ?? `edge-${siteId}`,
    clean: true,
    reconnectPeriod: config.mqtt.reconnectPeriodMs,
    connectTimeout: config.mqtt.connectTimeoutMs,
    ...(config.mqtt.username !== undefined ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password !== undefined ? { password: config.mqtt.password } : {}),
    will: { topic: statusTopic, payload: Buffer.from(statusPayload("offline")), qos: 1, retain: true },
  });

  const outbox = new OutboxPublisher({ queue, client, log, siteId });
  const metas = new Map<string, string>();
  let brokerDown = false;
  client.on("connect", () => {
    if (brokerDown) log.info({ siteId, url: config.mqtt.url }, "broker reachable again");
    else log.info({ siteId, url: config.mqtt.url }, "connected to the broker");
    brokerDown = false;
    client.publish(statusTopic, statusPayload("online"), { qos: 1, retain: true });
    // Retained identity again on every connect: a broker restarted without persistence forgot it.
    for (const [topic, payload] of metas) client.publish(topic, payload, { qos: 1, retain: true });
  });
  client.on("error", (err) => {
    if (!brokerDown) log.warn({ siteId, url: config.mqtt.url, err: err.message }, "broker connection failed; retrying");
    brokerDown = true;
  });
  client.on("offline", () => {
    if (!brokerDown) log.warn({ siteId, url: config.mqtt.url }, "broker unreachable; samples stay in the outbox");
    brokerDown = true;
  });

  // One connection per host:port, shared by every unit ID behind it (requests serialised).
  const transports = new Map<string, RegisterTransport>();
  const pollers = config.devices.map((device) => {
    const { host, port } = device.transport;
    const key = `${host}:${port}`;
    let transport = transports.get(key);
    if (!transport) {
      const timeoutMs = Math.max(...config.devices.filter((d) => d.transport.host === host && d.transport.port === port).map((d) => d.timeoutMs));
      transport = new ModbusTcpTransport({ host, port, timeoutMs });
      transports.set(key, transport);
    }
    return new DevicePoller({
      siteId,
      device,
      transport,
      pollIntervalMs: config.pollIntervalMs,
      retryMinMs: config.retryMinMs,
      retryMaxMs: config.retryMaxMs,
      log,
      nextSeq,
      onSample: (sample: PackSample) => outbox.enqueue(topics.telemetry(siteId, device.packId), JSON.stringify(sample)),
      onMeta: (meta: PackMeta) => {
        const topic = topics.meta(siteId, device.packId);
        const payload = JSON.stringify(meta);
        metas.set(topic, payload);
        if (client.connected) client.publish(topic, payload, { qos: 1, retain: true });
      },
    });
  });
  for (const poller of pollers) poller.start();
  log.info({ siteId, devices: config.devices.length, dataDir: config.dataDir, backlog: queue.size() }, "edge agent started");

  let closing: Promise<void> | undefined;
  return {
    health: () => ({
      mqttConnected: client.connected,
      outboxSize: closing ? 0 : outbox.size(),
      devices: pollers.map((p) => p.health()),
      published: outbox.published,
      dropped: outbox.dropped,
    }),
    close: () => {
      closing ??= (async () => {
        await Promise.all(pollers.map((p) => p.stop()));
        await Promise.all([...transports.values()].map((t) => t.close()));
        outbox.stop();
        if (client.connected) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, OFFLINE_PUBLISH_TIMEOUT_MS);
            client.publish(statusTopic, statusPayload("offline"), { qos: 1, retain: true }, () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        await client.endAsync(true);
        queue.close();
        log.info({ siteId }, "edge agent stopped");
      })();
      return closing;
    },
  };
}
