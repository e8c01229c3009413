import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { Writable } from "node:stream";
import { type CaseEvent, type Logger, type PackMeta, type PackSample, TOPIC_FILTERS } from "@bms/shared";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import { pino } from "pino";
import { requireBinary } from "../../../test/support/binaries";
import { type RunningProcess, startProcess } from "../../../test/support/child-process";
import { waitFor } from "../../../test/support/free-port";
import type { ExportedSeries } from "../../../test/support/victoria-metrics";
import { type RunningIngestion, type StartIngestionOptions, startIngestion } from "../src/index";

export interface TestBroker {
  url: string;
  stop(): Promise<void>;
}

/** An aedes broker on a free port (in-memory persistence keeps offline sessions). */
export async function startAedes(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * VictoriaMetrics on a given port and storage directory, so that a test can stop it and start it
 * again on the same port with the same data (test/support's helper picks both itself).
 */
export async function startVictoriaMetricsOn(port: number, storageDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = requireBinary("victoria-metrics", "victoria-metrics");
  mkdirSync(storageDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const proc: RunningProcess = startProcess(binary, [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${storageDir}`,
    "-retentionPeriod=100y",
    "-loggerLevel=ERROR",
  ]);
  try {
    await waitFor(async () => (await fetch(`${url}/health`)).ok, 20_000, "VictoriaMetrics /health");
  } catch (err) {
    await proc.stop();
    throw new Error(`VictoriaMetrics did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return { url, stop: () => proc.stop() };
}

/** Reads series back from VictoriaMetrics (same as test/support's exportSeries). */
export async function exportSeries(url: string, match: string): Promise<ExportedSeries[]> {
  await fetch(`${url}/internal/force_flush`);
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
  if (!res.ok) throw new Error(`export ${match}: HTTP ${res.status} ${await res.text()}`);
  return (await res.text())
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ExportedSeries);
}

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

/** Collects the case events the ingestion publishes. */
export async function watchCaseEvents(url: string): Promise<{ events: CaseEvent[]; topics: string[]; close(): Promise<void> }> {
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
