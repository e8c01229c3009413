import { Writable } from "node:stream";
import { type CaseEvent, type Logger, type PackMeta, type PackSample, TOPIC_FILTERS } from "@bms/shared";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import type { CaseStore, RuleLedger } from "@bms/storage";
import mqtt, { type MqttClient } from "mqtt";
import { pino } from "pino";
import { afterEach, beforeEach } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { exportSeries } from "../../../test/support/victoria-metrics";
import { type RunningIngestion, type StartIngestionOptions, startIngestion } from "../src/index";

/** All points of the series matching `match`, sorted by time. */
export async function points(url: string, match: string): Promise<Array<{ ts: number; value: number; labels: Record<string, string> }>> {
  const series = await exportSeries(url, match);
  return series.flatMap((s) => s.timestamps.map((ts, i) => ({ ts, value: s.values[i] ?? Number.NaN, labels: s.metric }))).sort((a, b) => a.ts - b.ts);
}

/** A base timestamp well inside VictoriaMetrics' retention, rounded to the second. */
export function baseTs(): number {
  return Math.floor(Date.now() / 1000) * 1000 - 600_000;
}

export function makeSample(seq: number, ts: number, overrides: Partial<PackSample> = {}): PackSample {
  return {
    v: 1,
    ts,
    seq,
    packVoltage: 51.2,
    current: 12.5,
    soc: 80,
    cellVoltages: [3.3, 3.31, 3.29, 3.3],
    cellTemperatures: [25, 26.5],
    ...overrides,
  };
}

export const META: PackMeta = {
  v: 1,
  ts: 1_700_000_000_000,
  manufacturer: "Acme",
  model: "LFP-48",
  serial: "SN-0042",
  bmsFirmware: "1.2.3",
  chemistry: "LFP",
  cellCount: 4,
  ratedCapacity: 100,
  warrantyStart: "2024-01-01",
  warrantyEnd: "2034-01-01",
};

export async function connectPublisher(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: `test-pub-${Math.random().toString(36).slice(2, 10)}`, reconnectPeriod: 200 });
}

export async function publish(client: MqttClient, topic: string, payload: string | Buffer | object, retain = false): Promise<void> {
  const body = typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  await client.publishAsync(topic, body, { qos: 1, retain });
}

export interface CaseEventWatcher {
  events: CaseEvent[];
  topics: string[];
  close(): Promise<void>;
}

/** Collects the case events the ingestion publishes. */
export async function watchCaseEvents(url: string): Promise<CaseEventWatcher> {
  const client = await mqtt.connectAsync(url, { clientId: `test-cases-${Math.random().toString(36).slice(2, 10)}` });
  const events: CaseEvent[] = [];
  const topics: string[] = [];
  client.on("message", (topic, payload) => {
    topics.push(topic);
    events.push(JSON.parse(payload.toString()) as CaseEvent);
  });
  await client.subscribeAsync(TOPIC_FILTERS.allCaseEvents, { qos: 1 });
  return { events, topics, close: () => client.endAsync() };
}

export interface TestIngestionInput {
  mqttUrl: string;
  dataDir: string;
  influxUrl?: string;
  clientId?: string;
  rules?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export function testConfig(input: TestIngestionInput): IngestionConfig {
  return IngestionConfig.parse({
    mqtt: { url: input.mqttUrl, clientId: input.clientId ?? "ingestion-test", reconnectPeriodMs: 200 },
    dataDir: input.dataDir,
    ...(input.influxUrl ? { influx: { url: input.influxUrl, bucket: "bms", batchSize: 500, flushIntervalMs: 100, timeoutMs: 2000 } } : {}),
    rules: input.rules ?? {},
    closeTimeoutMs: 2000,
    ...input.extra,
  });
}

export async function startTestIngestion(input: TestIngestionInput, options: StartIngestionOptions = {}): Promise<RunningIngestion> {
  const ingestion = await startIngestion(testConfig(input), options);
  await waitFor(() => ingestion.health().mqttConnected, 10_000, "ingestion to subscribe");
  return ingestion;
}

/** Reads one metric's value (summing label sets that match `labels`). */
export async function metricValue(ingestion: RunningIngestion, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = ingestion.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A logger that keeps its JSON lines in memory, to assert what was logged. */
export function captureLogger(): { log: Logger; lines(): Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const kept: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      kept.push(
        ...chunk
          .toString()
          .split("\n")
          .filter((l) => l.trim() !== ""),
      );
      callback();
    },
  });
  return {
    log: pino({ level: "debug" }, stream),
    lines: () => kept.map((l) => JSON.parse(l) as { level: number; msg: string } & Record<string, unknown>),
  };
}

/**
 * What one ingestion test runs, stopped after each test in dependency order (case watcher, publisher,
 * ingestion, case store, broker, time-series server, then the temp dir). A test sets what it starts,
 * and clears what it has already stopped itself.
 */
export interface IngestionTestbed {
  /** A temp dir made for each test (removed after it). */
  readonly dir: TempDir;
  broker?: { url: string; stop(): Promise<void> };
  /** VictoriaMetrics or a stand-in for it. */
  timeSeries?: { url: string; stop(): Promise<void> };
  ingestion?: RunningIngestion;
  publisher?: MqttClient;
  watcher?: CaseEventWatcher;
  caseStore?: CaseStore & RuleLedger;
}

/** Call in a describe block: a testbed whose pieces are stopped after each of its tests. */
export function useIngestionTestbed(): IngestionTestbed {
  let dir: TempDir | undefined;
  const testbed: IngestionTestbed = {
    get dir() {
      if (!dir) throw new Error("the testbed's dir exists only while a test runs");
      return dir;
    },
  };
  beforeEach(() => {
    dir = makeTempDir("bms-ingestion-");
  });
  afterEach(async () => {
    const { watcher, publisher, ingestion, caseStore, broker, timeSeries } = testbed;
    const made = dir;
    for (const key of ["watcher", "publisher", "ingestion", "caseStore", "broker", "timeSeries"] as const) delete testbed[key];
    dir = undefined;
    await watcher?.close();
    await publisher?.endAsync();
    await ingestion?.close();
    await caseStore?.close();
    await broker?.stop();
    await timeSeries?.stop();
    made?.remove();
  });
  return testbed;
}
