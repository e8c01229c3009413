import type { Logger } from "@bms/shared";
import type { DeadLetterStore, DurableQueue } from "@bms/storage";
import type { DuplicateFilter } from "./duplicate-filter";
import type { IngestionMetrics } from "./ingestion-metrics";
import { sampleToLines } from "./line-protocol";
import { payloadForDeadLetter, validateMessage } from "./message-validator";
import type { RejectionLog } from "./rejection-log";
import type { RuleEngine } from "./rules/rule-engine";
import type { SpoolDrainer } from "./spool-drainer";

/** How much of an oversized payload the dead-letter store keeps. */
const OVERSIZED_KEPT_BYTES = 1024;

export interface MessageIntakeDeps {
  /** Absent when no time-series server is configured: samples are not spooled. */
  spool: DurableQueue | undefined;
  drainer: SpoolDrainer | undefined;
  deadLetters: DeadLetterStore;
  rules: RuleEngine;
  duplicates: DuplicateFilter;
  rejections: RejectionLog;
  metrics: IngestionMetrics;
  log: Logger;
  maxPayloadBytes: number;
}

/**
 * One MQTT message in: validated, then spooled (valid telemetry) or dead-lettered (anything
 * rejected). Resolves once the message is durable locally, which is when the PUBACK may go out;
 * rejects only when it could not be made durable (then no PUBACK: the broker delivers it again).
 */
export class MessageIntake {
  constructor(private readonly deps: MessageIntakeDeps) {}

  async handle(topic: string, payload: Uint8Array, now = Date.now()): Promise<void> {
    const deps = this.deps;
    const metrics = deps.metrics;
    const result = validateMessage(topic, payload, deps.maxPayloadBytes);
    metrics.messagesReceived.inc({ kind: result.kind });
    if (!result.ok) {
      const oversized = result.category === "oversized";
      const reason = oversized ? `${result.reason} (first ${OVERSIZED_KEPT_BYTES} bytes kept)` : result.reason;
      await deps.deadLetters.add({
        receivedAt: now,
        topic,
        payload: payloadForDeadLetter(payload, oversized ? OVERSIZED_KEPT_BYTES : payload.byteLength),
        reason,
      });
      metrics.deadLetters.inc({ reason: result.category });
      deps.rejections.reject(topic, result.category, reason, now);
      return;
    }
    switch (result.kind) {
      case "telemetry": {
        const { siteId, packId, sample } = result;
        if (deps.duplicates.isDuplicate(siteId, packId, sample.seq, sample.ts)) {
          metrics.duplicates.inc();
          return;
        }
        if (deps.spool) {
          const lines = sampleToLines(siteId, packId, sample);
          const { dropped } = deps.spool.push([{ topic, payload: lines.join("\n"), enqueuedAt: now }]);
          if (dropped > 0) {
            metrics.spoolDropped.inc(dropped);
            deps.log.error(
              { dropped, siteId, packId },
              `the write spool is full: dropped the ${dropped} oldest samples (raise spoolMaxMessages or fix the time-series server)`,
            );
          }
          deps.drainer?.notify(lines.length);
        }
        deps.duplicates.remember(siteId, packId, sample.seq, sample.ts);
        metrics.samplesAccepted.inc();
        // The PUBACK waits for what the rules recorded from this sample (a firing is never lost).
        await deps.rules.onSample(siteId, packId, sample, now);
        return;
      }
      case "meta":
        deps.rules.onMeta(result.siteId, result.packId, result.meta);
        return;
      case "status":
        if (result.status.agent === undefined) deps.log.info({ siteId: result.siteId, state: result.status.state }, `site is ${result.status.state}`);
        await deps.rules.onStatus(result.siteId, result.status, now);
        return;
    }
  }
}
