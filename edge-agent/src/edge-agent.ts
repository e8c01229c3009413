import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type AgentClock,
  type AgentStatus,
  BROKER_TIME_TOPIC,
  BrokerTime,
  createLogger,
  type Logger,
  type PackMeta,
  type PackSample,
  SiteStatus,
  topics,
} from "@bms/shared";
import type { DeviceConfig, EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import type { DeviceProfile } from "@bms/shared/device-profile";
import { type DurableQueue, openSqliteDurableQueue } from "@bms/storage/sqlite-durable-queue";
import { agentStatusOf, StatusReporter, statusPayload } from "./agent-status";
import { ClockCheck } from "./clock-check";
import { type DeviceHealth, DevicePoller } from "./device-poller";
import { loadDeviceProfiles } from "./device-profiles";
import { connectToBroker, mqttTlsAndCredentials } from "./mqtt-options";
import { OutboxPublisher } from "./outbox-publisher";
import { CanDeviceReader } from "./readers/can-device-reader";
import type { DeviceReader } from "./readers/device-reader";
import { ProfileDeviceReader } from "./readers/profile-device-reader";
import { SunSpecDeviceReader } from "./readers/sunspec-device-reader";
import { TransportRegistry } from "./transports/transport-registry";

export interface AgentHealth {
  mqttConnected: boolean;
  /** The clock check (docs/edge-agent.md, "Clock check"). */
  clock: AgentClock;
  /** Samples waiting in the durable outbox (not yet acknowledged by the broker). */
  outboxSize: number;
  /** Bytes they hold (topic + payload). */
  outboxBytes: number;
  /** `ts` of the oldest of them. */
  oldestQueuedTs?: number;
  devices: DeviceHealth[];
  /** Samples the broker acknowledged since start. */
  published: number;
  /** Samples dropped because the outbox reached outboxMaxMessages or outboxMaxBytes. */
  dropped: number;
}

export interface RunningAgent {
  health(): AgentHealth;
  /** The counters as published in the retained site status. */
  status(): AgentStatus;
  close(): Promise<void>;
}

export interface StartEdgeAgentOptions {
  /** @default createLogger("edge-agent") */
  log?: Logger;
  /** Where relative profile files are looked up. @default the working directory */
  configDir?: string;
  /** The local clock as the clock check reads it (tests set a wrong one). @default Date.now */
  now?: () => number;
}

/** Outbox state key of the last sequence number handed out. */
const SEQ_STATE_KEY = "seq";
/** How long a clean shutdown waits for the broker to take the `offline` status, ms. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 2000;

/** The last sequence number handed out: the persisted counter, or the newest queued sample's if that is higher. */
function lastSeq(queue: DurableQueue): number {
  const stored = Number(queue.getState(SEQ_STATE_KEY) ?? "0");
  let seq = Number.isSafeInteger(stored) && stored >= 0 ? stored : 0;
  const newest = queue.newestId();
  const [message] = newest > 0 ? queue.peek(1, newest - 1) : [];
  if (message) {
    try {
      const queued: unknown = (JSON.parse(message.payload) as { seq?: unknown }).seq;
      if (typeof queued === "number" && Number.isSafeInteger(queued) && queued > seq) seq = queued;
    } catch {
      // not a sample: the counter stands
    }
  }
  return seq;
}

function readerFor(device: DeviceConfig, transports: TransportRegistry, profiles: ReadonlyMap<string, DeviceProfile>): DeviceReader {
  const t = device.transport;
  if (t.kind === "can-slcan") {
    return new CanDeviceReader(transports.canTransport(device), { canIdOffset: t.canIdOffset, currentSign: t.currentSign, timeoutMs: device.timeoutMs });
  }
  const transport = transports.registerTransport(device);
  const profile = profiles.get(device.packId);
  return profile ? new ProfileDeviceReader(transport, t.unitId, profile) : new SunSpecDeviceReader(transport, t.unitId);
}

/**
 * Starts the edge agent: one poller per configured pack (SunSpec, a register profile or Pylontech
 * CAN, over Modbus TCP, Modbus RTU or SLCAN), a durable outbox (`${dataDir}/outbox-${siteId}.db`)
 * drained to MQTT, and the retained site status with its counters and an `offline` last will.
 * A bad profile or TLS file is a ConfigError.
 */
export async function startEdgeAgent(config: EdgeAgentConfig, options: StartEdgeAgentOptions = {}): Promise<RunningAgent> {
  const log = options.log ?? createLogger("edge-agent");
  const { siteId } = config;
  const profiles = loadDeviceProfiles(config.devices, options.configDir ?? process.cwd());
  const mqttSecrets = mqttTlsAndCredentials(config.mqtt);
  mkdirSync(config.dataDir, { recursive: true });
  const queue = openSqliteDurableQueue(join(config.dataDir, `outbox-${siteId}.db`), {
    maxMessages: config.outboxMaxMessages,
    maxBytes: config.outboxMaxBytes,
  });
  let seq = lastSeq(queue);
  const nextSeq = () => ++seq;
  /** Queued first, then the counter persisted: after a crash in between, the queued sample itself tells the seq. */
  const queueSample = (topic: string, sample: PackSample) => {
    outbox.enqueue(topic, JSON.stringify(sample));
    queue.setState(SEQ_STATE_KEY, String(sample.seq));
  };

  const clock = new ClockCheck({
    siteId,
    log,
    toleranceMs: config.clockToleranceMs,
    manufacturedOn: config.devices.flatMap((d) => (d.manufacturedOn ? [d.manufacturedOn] : [])),
    ...(options.now ? { now: options.now } : {}),
  });
  clock.report();

  const statusTopic = topics.status(siteId);
  const client = connectToBroker(config.mqtt.url, {
    clientId: config.mqtt.clientId ?? `edge-${siteId}`,
    clean: true,
    // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers (about 6 MB of heap) to write numbers.
    writeCache: false,
    reconnectPeriod: config.mqtt.reconnectPeriodMs,
    connectTimeout: config.mqtt.connectTimeoutMs,
    ...mqttSecrets,
    will: { topic: statusTopic, payload: Buffer.from(statusPayload("offline")), qos: 1, retain: true },
  });

  const outbox = new OutboxPublisher({ queue, client, log, siteId });
  const metas = new Map<string, string>();
  let brokerDown = false;

  const transports = new TransportRegistry(config.devices);
  const pollers = config.devices.map(
    (device) =>
      new DevicePoller({
        siteId,
        device,
        reader: readerFor(device, transports, profiles),
        pollIntervalMs: config.pollIntervalMs,
        retryMinMs: config.retryMinMs,
        retryMaxMs: config.retryMaxMs,
        plausibility: config.plausibility,
        log,
        nextSeq,
        onSample: (sample: PackSample) => queueSample(topics.telemetry(siteId, device.packId), sample),
        onMeta: (meta: PackMeta) => {
          const topic = topics.meta(siteId, device.packId);
          const payload = JSON.stringify(meta);
          metas.set(topic, payload);
          if (client.connected) client.publish(topic, payload, { qos: 1, retain: true });
        },
      }),
  );
  const status = () =>
    agentStatusOf(
      outbox,
      pollers.map((p) => p.health()),
      clock.status(),
    );
  const reporter = new StatusReporter({
    siteId,
    log,
    intervalMs: config.statusIntervalMs,
    logIntervalMs: config.statusLogIntervalMs,
    status,
    publish: (payload) => {
      if (client.connected) client.publish(statusTopic, payload, { qos: 1, retain: true });
    },
  });

  client.on("connect", () => {
    if (brokerDown) log.info({ siteId, url: config.mqtt.url, backlog: outbox.size() }, "broker reachable again");
    else log.info({ siteId, url: config.mqtt.url }, "connected to the broker");
    brokerDown = false;
    // The clock check's sources: the broker's time, and the status this agent left retained before,
    // asked for before the new status replaces it and dropped once it came (no echo of the agent's
    // own statuses). A refusal, e.g. by Mosquitto's ACL, is harmless.
    client.subscribe([BROKER_TIME_TOPIC, statusTopic], { qos: 0 }, () => {
      client.unsubscribe(statusTopic, () => {
        if (closing) return;
        reporter.publishNow();
        // Retained identity again on every connect: a broker restarted without persistence forgot it.
        for (const [topic, payload] of metas) client.publish(topic, payload, { qos: 1, retain: true });
      });
    });
  });
  client.on("message", (topic, payload, packet) => {
    try {
      if (topic === BROKER_TIME_TOPIC) clock.onBrokerTime(BrokerTime.parse(JSON.parse(payload.toString())).ts, packet.retain);
      // Only the retained copy is the status from before; live copies are this agent's own echo.
      else if (topic === statusTopic && packet.retain) clock.onLastStatus(SiteStatus.parse(JSON.parse(payload.toString())).ts);
    } catch (err) {
      log.debug({ siteId, topic, err: (err as Error).message }, "ignored a malformed time reference");
    }
  });
  client.on("error", (err) => {
    if (!brokerDown) log.warn({ siteId, url: config.mqtt.url, err: err.message }, "broker connection failed; retrying");
    brokerDown = true;
  });
  client.on("offline", () => {
    if (!brokerDown) log.warn({ siteId, url: config.mqtt.url }, "broker unreachable; samples stay in the outbox");
    brokerDown = true;
  });

  for (const poller of pollers) poller.start();
  log.info({ siteId, devices: config.devices.length, dataDir: config.dataDir, backlog: queue.size() }, "edge agent started");

  let closing: Promise<void> | undefined;
  return {
    health: () => {
      const oldestQueuedTs = closing ? undefined : outbox.oldestTs();
      return {
        mqttConnected: client.connected,
        clock: clock.status(),
        outboxSize: closing ? 0 : outbox.size(),
        outboxBytes: closing ? 0 : outbox.bytes(),
        ...(oldestQueuedTs !== undefined ? { oldestQueuedTs } : {}),
        devices: pollers.map((p) => p.health()),
        published: outbox.published,
        dropped: outbox.dropped,
      };
    },
    status,
    close: () => {
      closing ??= (async () => {
        reporter.stop();
        await Promise.all(pollers.map((p) => p.stop()));
        await transports.close();
        // Hand the broker what it will take in time; the rest stays on disk for the next start.
        if (client.connected && config.shutdownFlushMs > 0) {
          const empty = await outbox.drain(config.shutdownFlushMs);
          if (!empty) log.warn({ siteId, left: outbox.size() }, "shutdown: samples left in the outbox for the next start");
        }
        outbox.stop();
        reporter.logNow();
        if (client.connected) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, OFFLINE_PUBLISH_TIMEOUT_MS);
            client.publish(statusTopic, statusPayload("offline", status()), { qos: 1, retain: true }, () => {
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
