import { Backoff, type Logger } from "@bms/shared";
import type { DeadLetter, DeadLetterStore, DurableQueue } from "@bms/storage";
import type { IngestionMetrics } from "../ingestion-metrics";
import { sampleToLines } from "../line-protocol";
import type { RuleEngine, RuleInput } from "../rules/rule-engine";
import type { SpoolDrainer } from "../spool-drainer";
import { type DuplicateFilter, sampleKey } from "./duplicate-filter";
import { type MessageLimits, payloadForDeadLetter, type RejectCategory, type ValidatedMessage, validateMessage } from "./message-validator";
import type { PackLimits } from "./pack-limits";
import type { RejectionLog } from "./rejection-log";

/** How much of an oversized payload the dead-letter store keeps. */
const OVERSIZED_KEPT_BYTES = 1024;

/** One message as the intake takes it. */
export interface IntakeMessage {
  topic: string;
  payload: Uint8Array;
  /** When it arrived (the clock-ahead check). */
  receivedAt: number;
}

export interface BatchProcessorDeps {
  /** Absent when no time-series server is configured: samples are not spooled. */
  spool: DurableQueue | undefined;
  drainer: SpoolDrainer | undefined;
  deadLetters: DeadLetterStore;
  rules: RuleEngine;
  duplicates: DuplicateFilter;
  packs: PackLimits;
  rejections: RejectionLog;
  metrics: IngestionMetrics;
  log: Logger;
  limits: MessageLimits;
}

/** Never throws: a validator bug is a dead letter too, so that no message comes back forever. */
function safeValidate(message: IntakeMessage, limits: MessageLimits): ValidatedMessage {
  try {
    return validateMessage(message.topic, message.payload, limits, message.receivedAt);
  } catch (err) {
    return { ok: false, kind: "unknown", category: "internal_error", reason: `internal error while validating: ${(err as Error).message}` };
  }
}

/**
 * One batch of messages in: validated, then made durable (valid samples into the write spool in one
 * transaction, rejects into the dead-letter store), then run through the rules, whose changes are
 * committed in one transaction of their own. Resolves when all of it is durable: then the batch's
 * PUBACKs may go. A store that fails is retried with backoff (the broker keeps what is not
 * acknowledged meanwhile); nothing is acknowledged before it is stored.
 */
export class BatchProcessor {
  private readonly backoff = new Backoff({ minMs: 100, maxMs: 5000 });
  private stopping = false;

  constructor(private readonly deps: BatchProcessorDeps) {}

  /**
   * `keepRejects: false` (a partitioned worker that is not the leader, for the meta and status
   * every worker reads): rejected messages are logged and counted but not stored, so that the
   * shared dead-letter store gets one copy, the leader's.
   */
  async process(batch: readonly IntakeMessage[], options: { keepRejects?: boolean } = {}): Promise<void> {
    const { metrics, duplicates, packs } = this.deps;
    metrics.intakeBatches.observe(batch.length);
    const inputs: RuleInput[] = [];
    const lines: { topic: string; payload: string; enqueuedAt: number }[] = [];
    let lineCount = 0;
    const rejected: { message: IntakeMessage; category: RejectCategory; reason: string }[] = [];
    /** The accepted samples' keys, remembered once the batch is durable. */
    const accepted: string[] = [];
    const inBatch = new Set<string>();
    // Counted once a batch: a labelled counter costs a lookup per call.
    const received = new Map<ValidatedMessage["kind"], number>();
    for (const message of batch) {
      const result = safeValidate(message, this.deps.limits);
      received.set(result.kind, (received.get(result.kind) ?? 0) + 1);
      if (!result.ok) {
        rejected.push({ message, category: result.category, reason: result.reason });
        continue;
      }
      switch (result.kind) {
        case "telemetry": {
          const { siteId, packId, sample } = result;
          if (!packs.admit(siteId, packId)) {
            rejected.push({ message, category: "over_limit", reason: packs.reason(siteId) });
            continue;
          }
          const key = sampleKey(siteId, packId, sample.seq, sample.ts);
          if (duplicates.has(key) || inBatch.has(key)) {
            metrics.duplicates.inc();
            continue;
          }
          inBatch.add(key);
          if (this.deps.spool) {
            const own = sampleToLines(siteId, packId, sample);
            lineCount += own.length;
            lines.push({ topic: message.topic, payload: own.join("\n"), enqueuedAt: message.receivedAt });
          }
          accepted.push(key);
          inputs.push({ kind: "sample", siteId, packId, sample, arrivedAt: message.receivedAt });
          break;
        }
        case "ignored":
          break;
        case "meta":
          inputs.push({ kind: "meta", siteId: result.siteId, packId: result.packId, meta: result.meta });
          break;
        case "status": {
          if (result.status.agent === undefined) this.deps.log.info({ siteId: result.siteId, state: result.status.state }, `site is ${result.status.state}`);
          const devices = result.status.agent?.devices.filter((d) => packs.admit(result.siteId, d.packId));
          const status = devices && result.status.agent ? { ...result.status, agent: { ...result.status.agent, devices } } : result.status;
          inputs.push({ kind: "status", siteId: result.siteId, status, arrivedAt: message.receivedAt });
          break;
        }
      }
    }
    for (const [kind, count] of received) metrics.messagesReceived.inc({ kind }, count);
    if (lines.length > 0) await this.retrying("spool the batch's samples", async () => this.spool(lines, lineCount));
    for (const r of rejected) await this.retrying("dead-letter a message", () => this.deadLetter(r, options.keepRejects ?? true));
    await this.deps.rules.run(inputs);
    for (const key of accepted) duplicates.remember(key);
    metrics.samplesAccepted.inc(accepted.length);
  }

  /** Stops retrying (close): a store that still fails leaves the batch unacknowledged, for the broker to deliver again. */
  stop(): void {
    this.stopping = true;
  }

  private spool(lines: readonly { topic: string; payload: string; enqueuedAt: number }[], lineCount: number): void {
    const { spool, drainer, metrics, log } = this.deps;
    if (!spool) return;
    const { dropped } = spool.push(lines);
    if (dropped > 0) {
      metrics.spoolDropped.inc(dropped);
      log.error({ dropped }, `the write spool is full: dropped the ${dropped} oldest samples (raise spoolMaxMessages or fix the time-series server)`);
    }
    drainer?.notify(lineCount);
  }

  private async deadLetter(r: { message: IntakeMessage; category: RejectCategory; reason: string }, keep: boolean): Promise<void> {
    const oversized = r.category === "oversized";
    const entry: Omit<DeadLetter, "id"> = {
      receivedAt: r.message.receivedAt,
      topic: r.message.topic.slice(0, 1024),
      payload: payloadForDeadLetter(r.message.payload, oversized ? OVERSIZED_KEPT_BYTES : r.message.payload.byteLength),
      reason: oversized ? `${r.reason} (first ${OVERSIZED_KEPT_BYTES} bytes kept)` : r.reason,
    };
    if (keep) await this.deps.deadLetters.add(entry);
    this.deps.metrics.deadLetters.inc({ reason: r.category });
    this.deps.rejections.reject(r.message.topic, r.category, r.reason, r.message.receivedAt);
  }

  private async retrying(what: string, job: () => Promise<void> | void): Promise<void> {
    for (;;) {
      try {
        await job();
        this.backoff.reset();
        return;
      } catch (err) {
        if (this.stopping) throw err;
        const waitMs = this.backoff.next();
        this.deps.metrics.intakeStoreErrors.inc();
        this.deps.log.error({ err, retryInMs: waitMs }, `could not ${what}; retrying (nothing is acknowledged meanwhile)`);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }
}
