import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The ingestion's Prometheus metrics, in a Registry of its own (several services may share a process). */
export function createIngestionMetrics(spoolSize: () => number) {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    messagesReceived: new Counter({
      name: "bms_ingestion_messages_received_total",
      help: "MQTT messages received, by topic kind (telemetry, meta, status, unknown)",
      labelNames: ["kind"] as const,
      registers,
    }),
    samplesAccepted: new Counter({
      name: "bms_ingestion_samples_accepted_total",
      help: "Valid pack samples accepted (spooled and given to the rules)",
      registers,
    }),
    deadLetters: new Counter({
      name: "bms_ingestion_dead_letters_total",
      help: "Messages or spooled lines dead-lettered, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    duplicates: new Counter({ name: "bms_ingestion_duplicates_total", help: "Duplicated sample deliveries dropped (same site, pack, seq and ts)", registers }),
    spoolDropped: new Counter({
      name: "bms_ingestion_spool_dropped_total",
      help: "Samples dropped because the write spool was full (oldest first)",
      registers,
    }),
    spoolSize: new Gauge({
      name: "bms_ingestion_spool_size",
      help: "Samples in the write spool waiting for the time-series server",
      registers,
      collect() {
        this.set(spoolSize());
      },
    }),
    intakeBatches: new Histogram({
      name: "bms_ingestion_intake_batch_messages",
      help: "Messages per intake batch (group commit: one spool transaction and one rules transaction per batch)",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    }),
    intakeStoreErrors: new Counter({
      name: "bms_ingestion_intake_store_errors_total",
      help: "Failed attempts to make a batch durable locally (spool, dead letters); retried, nothing acknowledged meanwhile",
      registers,
    }),
    linesWritten: new Counter({ name: "bms_ingestion_lines_written_total", help: "Line-protocol lines the time-series server accepted", registers }),
    writeFailures: new Counter({ name: "bms_ingestion_write_failures_total", help: "Failed write requests to the time-series server", registers }),
    writeOk: new Gauge({ name: "bms_ingestion_last_write_ok", help: "1 when the last write to the time-series server succeeded", registers }),
    casesOpened: new Counter({ name: "bms_ingestion_cases_opened_total", help: "Support cases opened, by rule", labelNames: ["rule"] as const, registers }),
    caseEvents: new Counter({ name: "bms_ingestion_case_events_total", help: "Case events published, by type", labelNames: ["type"] as const, registers }),
    caseStoreErrors: new Counter({ name: "bms_ingestion_case_store_errors_total", help: "Case store or case-event publish failures", registers }),
    ruleEvaluations: new Counter({ name: "bms_ingestion_rule_evaluations_total", help: "Rule evaluations, by rule", labelNames: ["rule"] as const, registers }),
    rulesFired: new Counter({
      name: "bms_ingestion_rule_firings_total",
      help: "Rule firings (a level started to hold), by rule and severity",
      labelNames: ["rule", "severity"] as const,
      registers,
    }),
    firingsExplained: new Counter({
      name: "bms_ingestion_rule_firings_explained_total",
      help: "Rule firings explained by a rule that opens no case (no case recorded), by rule",
      labelNames: ["rule"] as const,
      registers,
    }),
    caseOutcomes: new Counter({
      name: "bms_ingestion_case_outcomes_total",
      help: "What rule firings did to cases: opened, occurrence, escalated, reopened, attached, duplicate",
      labelNames: ["outcome"] as const,
      registers,
    }),
    implausibleReadings: new Counter({
      name: "bms_ingestion_implausible_readings_total",
      help: "Cell voltages and temperatures the plausibility filter kept out of the rules",
      registers,
    }),
    ruleSamplesSkipped: new Counter({
      name: "bms_ingestion_rule_samples_skipped_total",
      help: "Late samples the rules had already seen (a redelivery or replay, not newer than their lane's latest): stored, not run through the rules again",
      registers,
    }),
    ruleSamplesBackfilled: new Counter({
      name: "bms_ingestion_rule_samples_backfilled_total",
      help: "Late samples of a gap in a pack's stream (an agent's outbox backlog after an outage) run through the rules in the pack's backfill lane",
      registers,
    }),
    ruleStateInvalid: new Counter({
      name: "bms_ingestion_rule_state_invalid_total",
      help: "Saved rule states that did not fit their schema when loaded (reported; the pack or rule started afresh)",
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "bms_ingestion_webhook_attempts_total",
      help: "Webhook delivery attempts, by result (delivered, retry, failed)",
      labelNames: ["result"] as const,
      registers,
    }),
    partitionsActive: new Gauge({
      name: "bms_ingestion_partitions_active",
      help: "Partitions this worker consumes (partitioned intake; standby ones not counted)",
      registers,
    }),
    partitionChanges: new Counter({
      name: "bms_ingestion_partition_changes_total",
      help: "Partitions this worker started consuming (taken), handed to their home worker, or lost with its connection",
      labelNames: ["change"] as const,
      registers,
    }),
    leader: new Gauge({ name: "bms_ingestion_leader", help: "1 while this worker is the leader of the partitioned workers", registers }),
  };
}

export type IngestionMetrics = ReturnType<typeof createIngestionMetrics>;
