import { join } from "node:path";
import { createLogger, type Logger, type ProbeServer, serveProbes } from "@bms/shared";
import type { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { type DurableQueue, openSqliteDurableQueue } from "@bms/storage";
import type { Registry } from "prom-client";
import { createCaseAnnouncer } from "./case-announcer";
import { createInfluxWriter, type TimeSeriesWriter } from "./influx-writer";
import { createIngestionMetrics } from "./ingestion-metrics";
import { INGESTION_FILES, type IngestionCaseStore, openIngestionStores } from "./ingestion-stores";
import { BatchProcessor } from "./intake/batch-processor";
import { DuplicateFilter } from "./intake/duplicate-filter";
import { startMqttIntake } from "./intake/mqtt-intake";
import { PackLimits } from "./intake/pack-limits";
import { RejectionLog } from "./intake/rejection-log";
import { type Intake, startPartitionedIntake } from "./partitions/partitioned-intake";
import { convertLegacyRuleStates } from "./rules/legacy-rule-state";
import { RuleBook } from "./rules/rule-book";
import { RuleEngine } from "./rules/rule-engine";
import { SpoolDrainer } from "./spool-drainer";
import { WebhookDispatcher } from "./webhooks/webhook-dispatcher";

export { createInfluxWriter, TimeSeriesWriteError, type TimeSeriesWriter } from "./influx-writer";
export { INGESTION_FILES, type IngestionCaseStore } from "./ingestion-stores";
export { DEFAULT_INGESTION_CLIENT_ID } from "./intake/mqtt-source";
export { sampleToLines } from "./line-protocol";
export { declarePartitions, partitionQueue, TOPOLOGY } from "./partitions/amqp-topology";
export { DEFAULT_RULES_FILE, type ResolvedRules, type Rule, RuleBook } from "./rules/rule-book";
export { RuleEngine, type RuleEngineOptions, type RuleInput } from "./rules/rule-engine";
export { healthOfRow, readAllPackHealth, readPackHealth, reportOfRow } from "./warranty/health-reader";
export { siteHealthReport } from "./warranty/health-report";
export { SIGNATURE_HEADER, signWebhook, verifyWebhookSignature } from "./webhooks/webhook-signature";

export interface IngestionHealth {
  /** Connected to the broker and subscribed (partitioned: to RabbitMQ's partitions and the broker's meta and status). */
  mqttConnected: boolean;
  /** Samples waiting for the time-series server (0 when none is configured: nothing is spooled). */
  spoolSize: number;
  lastWriteOk: boolean;
  lastWriteError?: string;
  /** Messages in the dead-letter store. */
  deadLetters: number;
}

export interface RunningIngestion {
  health(): IngestionHealth;
  registry: Registry;
  /** http://host:port serving /metrics and /healthz, when the `http` option is set. */
  url?: string;
  /** Stops taking messages, drains the spool to the writer (bounded by closeTimeoutMs), closes the stores it opened. */
  close(): Promise<void>;
}

export interface StartIngestionOptions {
  /** @default createLogger("ingestion") */
  log?: Logger;
  /** A store the caller owns (and closes). @default openSqliteCaseStore(`${dataDir}/cases.db`), closed by close() */
  caseStore?: IngestionCaseStore;
  /** Replaces the InfluxDB writer (when influx is configured). @default createInfluxWriter(config.influx) */
  writer?: TimeSeriesWriter;
  /** The ingestion's clock (site-offline, webhooks, clock-ahead). @default Date.now */
  now?: () => number;
}

/**
 * Subscribes to all telemetry (persistent session, QoS 1), or with `amqp` consumes its partitions
 * of RabbitMQ; takes messages a batch at a time (group commit: validated, spooled for the
 * time-series server or dead-lettered, run through the rules, committed, then acknowledged), and
 * opens support cases.
 */
export async function startIngestion(config: IngestionConfig, options: StartIngestionOptions = {}): Promise<RunningIngestion> {
  const log = options.log ?? createLogger("ingestion");
  // A bad rule file is a ConfigError before anything opens (exit 2 from the command line).
  const book = RuleBook.load({ file: config.rulesFile, inline: config.rules });
  const opened = await openIngestionStores(config, options.caseStore, log);
  const { caseStore, outbox } = opened;
  let spool: DurableQueue | undefined;
  try {
    if (config.influx) spool = openSqliteDurableQueue(join(config.dataDir, INGESTION_FILES.spool), { maxMessages: config.spoolMaxMessages });
  } catch (err) {
    await opened.close();
    throw err;
  }
  const stores = { spool };
  const deadLetters = opened.deadLetters;
  let deadLetterCount = await deadLetters.count();

  // Count dead letters as they are written, so that health() stays synchronous.
  const countingDeadLetters: typeof deadLetters = {
    add: async (entry) => {
      await deadLetters.add(entry);
      deadLetterCount++;
    },
    list: (limit) => deadLetters.list(limit),
    count: () => deadLetters.count(),
    close: () => deadLetters.close(),
  };

  const metrics = createIngestionMetrics(() => stores.spool?.size() ?? 0);
  let runningIntake: Intake | null = null;
  let drainer: SpoolDrainer | undefined;
  const health = (): IngestionHealth => {
    const status = drainer?.status() ?? { lastWriteOk: true };
    return {
      mqttConnected: runningIntake?.isReady() ?? false,
      spoolSize: stores.spool?.size() ?? 0,
      lastWriteOk: status.lastWriteOk,
      ...(status.lastWriteError === undefined ? {} : { lastWriteError: status.lastWriteError }),
      deadLetters: deadLetterCount,
    };
  };
  // Up when its intake is: a time-series outage is reported, not failed (the spool holds the samples).
  let probes: ProbeServer | undefined;
  try {
    if (config.http)
      probes = await serveProbes({
        registry: metrics.registry,
        ...config.http,
        setting: "http.port",
        health: () => {
          const current = health();
          return { ok: current.mqttConnected, ...current };
        },
      });
  } catch (err) {
    spool?.close();
    await opened.close();
    throw err;
  }
  let writer: TimeSeriesWriter | undefined;
  if (config.influx && spool) {
    writer = options.writer ?? createInfluxWriter(config.influx);
    drainer = new SpoolDrainer(
      spool,
      writer,
      countingDeadLetters,
      { batchSize: config.influx.batchSize, flushIntervalMs: config.influx.flushIntervalMs },
      metrics,
      log,
    );
    log.info({ url: config.influx.url, bucket: config.influx.bucket, spooled: spool.size() }, "writing time series");
    drainer.start();
  } else {
    log.warn(
      "no InfluxDB configured (set INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET): time series are not written; samples are validated and run through the rules only",
    );
  }

  // Cases the rules open while starting (site-offline checks on restored state) are announced once
  // the intake is up: mqtt.js queues them from then on, while the broker is away too.
  let intakeUp: (intake: Intake) => void = () => {};
  let intakeFailed: (err: unknown) => void = () => {};
  const intakeStarted = new Promise<Intake>((resolve, reject) => {
    intakeUp = resolve;
    intakeFailed = reject;
  });
  intakeStarted.catch(() => {});
  const publishCaseEvent = async (topic: string, payload: string) => (await intakeStarted).publish(topic, payload);
  const now = options.now ?? Date.now;
  // One dispatcher in a deployment: in this process, or (partitioned) in the leader only.
  const newDispatcher = () => new WebhookDispatcher(config.webhooks, caseStore, outbox, metrics, log, now);
  let dispatcher: WebhookDispatcher | null = config.amqp ? null : newDispatcher();
  let dispatcherChange: Promise<void> = Promise.resolve();
  let closing: Promise<void> | undefined;
  const rules = new RuleEngine({
    book,
    ledger: caseStore,
    announce: createCaseAnnouncer(publishCaseEvent, metrics, log, () => dispatcher?.notify()),
    metrics,
    log,
    reopenWithinMs: config.cases.reopenWithinDays * 86_400_000,
    now,
    partitioned: config.amqp !== undefined,
  });
  // Rule state saved one row per rule by earlier versions becomes pack states, once.
  const converted = (await caseStore.adoptLegacyRuleStates?.((rows) => convertLegacyRuleStates(rows, book))) ?? 0;
  if (converted > 0) log.info({ rows: converted }, "converted rule state saved by an earlier version to pack states");
  await rules.start();
  await dispatcher?.start();
  const processor = new BatchProcessor({
    spool,
    drainer,
    deadLetters: countingDeadLetters,
    rules,
    duplicates: new DuplicateFilter(),
    packs: new PackLimits(config.limits.maxPacksPerSite),
    rejections: new RejectionLog(log),
    metrics,
    log,
    limits: { ...config.limits, maxPayloadBytes: config.maxPayloadBytes },
  });
  const amqp = config.amqp;
  const intake: Intake = await (amqp
    ? startPartitionedIntake({
        config: { ...config, amqp },
        processor,
        rules,
        metrics,
        log,
        now,
        onLeadership(leader) {
          dispatcherChange = dispatcherChange.then(async () => {
            if (leader && !dispatcher && !closing) {
              dispatcher = newDispatcher();
              await dispatcher.start();
            } else if (!leader && dispatcher) {
              const stopping = dispatcher;
              dispatcher = null;
              await stopping.stop();
            }
          });
        },
      })
    : startMqttIntake(config, processor, log, now)
  ).catch(async (err: unknown) => {
    intakeFailed(err);
    await probes?.close();
    throw err;
  });
  intakeUp(intake);
  runningIntake = intake;

  return {
    registry: metrics.registry,
    health,
    ...(probes ? { url: probes.url } : {}),
    close() {
      closing ??= (async () => {
        await probes?.close();
        intake.stopTaking();
        processor.stop();
        await intake.drain();
        await rules.stop();
        await dispatcherChange;
        await dispatcher?.stop();
        await intake.close();
        await drainer?.stop(config.closeTimeoutMs);
        await writer?.close();
        stores.spool?.close();
        stores.spool = undefined;
        await opened.close();
      })();
      return closing;
    },
  };
}
