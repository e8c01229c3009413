import { randomBytes } from "node:crypto";
import {
  CaseEvent,
  type CommandMessage,
  clockAheadReason,
  compiledCheck,
  type Logger,
  PackMeta,
  PackSample,
  parseTopic,
  SiteStatus,
  sendWithoutDelay,
  TOPIC_FILTERS,
  topics,
} from "@bms/shared";
import type { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import { connect, type MqttClient } from "mqtt";
import type { LiveMetrics } from "./live-metrics";
import type { PackState } from "./pack-state";

/** What every live node reads, whatever its engineers watch: identity, agent status, case events, command results and pack parameters. */
export const WATCHING_TOPIC_FILTERS = [
  "bms/+/+/meta",
  "bms/+/status",
  TOPIC_FILTERS.allCaseEvents,
  TOPIC_FILTERS.allCommandResults,
  TOPIC_FILTERS.allParameters,
] as const;

/** What the live service reads (docs/architecture.md, Contracts): every sample, and the rest; behind Redis, samples only of what its engineers watch (`MqttFeed.watch`). */
export const LIVE_TOPIC_FILTERS = [TOPIC_FILTERS.allTelemetry, ...WATCHING_TOPIC_FILTERS] as const;

/** Why a message was ignored; the metric label. */
export type RejectReason = "unknown-topic" | "invalid-json" | "invalid-payload" | "clock-ahead" | "topic-mismatch" | "pack-limit";

export interface MqttFeedHandlers {
  /** A sample that became its pack's latest. */
  onSample(siteId: string, packId: string, sample: PackSample): void;
  onCaseEvent(event: CaseEvent): void;
  /** A message on `bms/{siteId}/cmd/result` (validated by the command service). */
  onCommandResult(siteId: string, value: unknown): void;
  /** A pack's writable points (`bms/{siteId}/{packId}/parameters`, validated by the command service). */
  onParameters(siteId: string, packId: string, value: unknown): void;
}

export interface MqttFeed {
  /** Connected and subscribed. */
  readonly ready: boolean;
  /**
   * With `watchOnly`: subscribes to the samples of a site (`packId` undefined) or a pack, counted:
   * as many `unwatch` calls end the subscription. Without `watchOnly` every sample comes anyway.
   */
  watch(siteId: string, packId?: string): void;
  unwatch(siteId: string, packId?: string): void;
  /** Publishes a case event on `cases/{siteId}/{packId}` (QoS 1) so that every live instance sees it. */
  publishCaseEvent(event: CaseEvent): Promise<void>;
  /** Publishes a command for the site's agent on `bms/{siteId}/cmd` (QoS 1, not retained). */
  publishCommand(siteId: string, message: CommandMessage): Promise<void>;
  close(): Promise<void>;
}

const acceptsSample = compiledCheck(PackSample);

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(payload.toString("utf8")) };
  } catch {
    return { ok: false };
  }
}

/**
 * Subscribes to the broker and keeps PackState current. Invalid messages are ignored and counted
 * (the ingestion service keeps them as dead letters); the feed never throws on input.
 */
export function startMqttFeed(
  config: MqttConnectionConfig,
  state: PackState,
  handlers: MqttFeedHandlers,
  metrics: LiveMetrics,
  log: Logger,
  /** Samples only of what `watch` names (a live node behind Redis). @default false: every sample */
  watchOnly = false,
): MqttFeed {
  let ready = false;
  /** Sample topic filter → how many watchers. */
  const watched = new Map<string, number>();
  const sampleFilter = (siteId: string, packId?: string) => `bms/${siteId}/${packId ?? "+"}/telemetry`;
  const client: MqttClient = connect(config.url, {
    clientId: config.clientId ?? `bms-live-${randomBytes(6).toString("hex")}`,
    username: config.username,
    password: config.password,
    reconnectPeriod: config.reconnectPeriodMs,
    connectTimeout: config.connectTimeoutMs,
    clean: true,
    // Subscribed on every connect below: a clean session has none after a reconnect.
    resubscribe: false,
  });
  sendWithoutDelay(client);

  const reject = (reason: RejectReason, topic: string, detail?: string) => {
    metrics.mqttRejected.inc({ reason });
    log.debug({ topic, reason, detail }, "ignored an MQTT message");
  };

  client.on("connect", () => {
    const filters = watchOnly ? [...WATCHING_TOPIC_FILTERS, ...watched.keys()] : [...LIVE_TOPIC_FILTERS];
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      const refused = granted?.filter((g) => g.qos === 128) ?? [];
      if (err || refused.length > 0) {
        log.error({ err, refused: refused.map((g) => g.topic) }, "broker refused the live service's subscriptions");
        return;
      }
      ready = true;
      lastError = null;
      metrics.mqttConnected.set(1);
      log.info({ url: config.url }, "connected to the broker");
    });
  });
  client.on("close", () => {
    if (ready) log.warn({ url: config.url }, "lost the broker; reconnecting");
    ready = false;
    metrics.mqttConnected.set(0);
  });
  // A broker that stays down fails every reconnect: warn once per distinct error, not every second.
  let lastError: string | null = null;
  client.on("error", (err) => {
    if (err.message === lastError) return log.debug({ err: err.message, url: config.url }, "MQTT error (repeated)");
    lastError = err.message;
    log.warn({ err: err.message, url: config.url }, "MQTT error; retrying");
  });

  client.on("message", (topic, payload) => {
    const parsed = parseTopic(topic);
    if (!parsed) return reject("unknown-topic", topic);
    const json = parseJson(payload);
    if (!json.ok) return reject("invalid-json", topic);
    switch (parsed.kind) {
      case "telemetry": {
        // The compiled check passes nearly every sample; zod says why one is refused.
        const sample = acceptsSample(json.value) ? { success: true as const, data: json.value } : PackSample.safeParse(json.value);
        if (!sample.success) return reject("invalid-payload", topic, sample.error.issues[0]?.message);
        // A clock far ahead would freeze the pack's live view on that sample (the ingestion dead-letters it).
        const ahead = clockAheadReason(sample.data.ts, Date.now());
        if (ahead) return reject("clock-ahead", topic, ahead);
        const result = state.addSample(parsed.siteId, parsed.packId, sample.data, Date.now());
        if (result === "pack-limit") return reject("pack-limit", topic);
        metrics.mqttMessages.inc({ kind: "telemetry" });
        metrics.packs.set(state.packCount);
        if (result === "latest") handlers.onSample(parsed.siteId, parsed.packId, sample.data);
        return;
      }
      case "meta": {
        // A retained meta is cleared with an empty payload: JSON.parse("") fails above, which is fine.
        const meta = PackMeta.safeParse(json.value);
        if (!meta.success) return reject("invalid-payload", topic, meta.error.issues[0]?.message);
        if (!state.setMeta(parsed.siteId, parsed.packId, meta.data)) return reject("pack-limit", topic);
        metrics.mqttMessages.inc({ kind: "meta" });
        metrics.packs.set(state.packCount);
        return;
      }
      case "status": {
        const status = SiteStatus.safeParse(json.value);
        if (!status.success) return reject("invalid-payload", topic, status.error.issues[0]?.message);
        const ahead = clockAheadReason(status.data.ts, Date.now());
        if (ahead) return reject("clock-ahead", topic, ahead);
        state.setSiteStatus(parsed.siteId, status.data);
        metrics.mqttMessages.inc({ kind: "status" });
        return;
      }
      case "case": {
        const event = CaseEvent.safeParse(json.value);
        if (!event.success) return reject("invalid-payload", topic, event.error.issues[0]?.message);
        if (event.data.case.siteId !== parsed.siteId || event.data.case.packId !== parsed.packId) return reject("topic-mismatch", topic);
        metrics.mqttMessages.inc({ kind: "case" });
        handlers.onCaseEvent(event.data);
        return;
      }
      case "command-result":
        metrics.mqttMessages.inc({ kind: "command-result" });
        handlers.onCommandResult(parsed.siteId, json.value);
        return;
      case "parameters":
        metrics.mqttMessages.inc({ kind: "parameters" });
        handlers.onParameters(parsed.siteId, parsed.packId, json.value);
        return;
      case "command":
        return reject("unknown-topic", topic);
    }
  });

  return {
    get ready() {
      return ready;
    },
    watch(siteId, packId) {
      if (!watchOnly) return;
      const filter = sampleFilter(siteId, packId);
      const count = watched.get(filter) ?? 0;
      watched.set(filter, count + 1);
      if (count === 0 && client.connected) client.subscribe(filter, { qos: 1 });
    },
    unwatch(siteId, packId) {
      if (!watchOnly) return;
      const filter = sampleFilter(siteId, packId);
      const count = watched.get(filter) ?? 0;
      if (count > 1) return void watched.set(filter, count - 1);
      watched.delete(filter);
      if (count === 1 && client.connected) client.unsubscribe(filter);
    },
    async publishCaseEvent(event) {
      await client.publishAsync(topics.caseEvents(event.case.siteId, event.case.packId), JSON.stringify(event), { qos: 1 });
    },
    async publishCommand(siteId, message) {
      await client.publishAsync(topics.commands(siteId), JSON.stringify(message), { qos: 1 });
    },
    async close() {
      ready = false;
      metrics.mqttConnected.set(0);
      await client.endAsync(true);
    },
  };
}
