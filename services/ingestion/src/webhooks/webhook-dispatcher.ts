import { createHash } from "node:crypto";
import { exponentialDelay, type Logger, SEVERITY_RANK, type TimelineEntry } from "@bms/shared";
import type { WebhookEndpoint, WebhooksConfig } from "@bms/shared/config/ingestion-config";
import type { CaseStore, NewWebhookDelivery, WebhookDelivery, WebhookOutbox } from "@bms/storage";
import type { IngestionMetrics } from "../ingestion-metrics";
import { SIGNATURE_HEADER, signWebhook } from "./webhook-signature";

const CURSOR = "case-timeline";
const TIMELINE_PAGE = 500;
const DUE_PAGE = 20;
/** How often the case timeline is read for new events when nothing wakes the dispatcher, ms. */
const IDLE_POLL_MS = 1000;

type WebhookEvent = "opened" | "reopened" | "escalated";

function eventOf(entry: TimelineEntry): WebhookEvent | null {
  return entry.kind === "opened" || entry.kind === "reopened" || entry.kind === "escalated" ? entry.kind : null;
}

/** What a receiver gets (JSON): `id` is the same on every retry of one delivery. */
export interface WebhookBody {
  id: string;
  event: `case.${WebhookEvent}`;
  at: number;
  message: string;
  case: unknown;
}

/**
 * Outgoing webhooks: follows the case timeline (a cursor in the outbox), queues one delivery per
 * matching endpoint for every opened, reopened or escalated case, and delivers them signed
 * (HMAC-SHA256), retrying with exponential backoff. Queue, attempts and results are in the durable
 * outbox, so a restart resumes where it stopped and the log can be read over REST.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private again = false;

  constructor(
    private readonly config: WebhooksConfig,
    private readonly cases: CaseStore,
    private readonly outbox: WebhookOutbox,
    private readonly metrics: IngestionMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Skips history on the very first start (no webhooks for cases older than the dispatcher), then runs. */
  async start(): Promise<void> {
    if ((await this.outbox.getCursor(CURSOR)) === 0) await this.outbox.setCursor(CURSOR, await this.cases.latestTimelineId());
    this.schedule(0);
  }

  /** Something changed (a case opened): look now rather than at the next poll. */
  notify(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.queueNewEvents();
      for (const delivery of await this.outbox.due(this.now(), DUE_PAGE)) {
        if (this.stopped) return;
        await this.deliver(delivery);
      }
    } catch (err) {
      this.log.error({ err }, "webhook dispatcher failed; retrying");
    }
    if (this.stopped) return;
    const next = await this.outbox.nextDueAt().catch(() => null);
    const wait = this.again ? 0 : Math.max(20, Math.min(IDLE_POLL_MS, next === null ? IDLE_POLL_MS : next - this.now()));
    this.again = false;
    this.schedule(wait);
  }

  private async queueNewEvents(): Promise<void> {
    let cursor = await this.outbox.getCursor(CURSOR);
    for (;;) {
      const entries = await this.cases.timelineSince(cursor, TIMELINE_PAGE);
      if (entries.length === 0) return;
      const deliveries: NewWebhookDelivery[] = [];
      for (const entry of entries) {
        const event = eventOf(entry);
        if (event === null) continue;
        const endpoints = this.config.endpoints.filter((e) => e.events.includes(event) && SEVERITY_RANK[entry.severity] >= SEVERITY_RANK[e.minSeverity]);
        if (endpoints.length === 0) continue;
        const supportCase = await this.cases.get(entry.caseId);
        if (!supportCase) continue;
        for (const endpoint of endpoints) {
          const id = `${entry.id}.${createHash("sha256").update(endpoint.url).digest("hex").slice(0, 12)}`;
          // The case as it is now, at the severity of this event (an escalation in the same batch
          // must not make the "opened" delivery say it opened at the higher severity).
          const body: WebhookBody = { id, event: `case.${event}`, at: entry.at, message: entry.message, case: { ...supportCase, severity: entry.severity } };
          deliveries.push({ key: id, url: endpoint.url, body: JSON.stringify(body), createdAt: this.now() });
        }
      }
      await this.outbox.enqueue(deliveries);
      cursor = (entries[entries.length - 1] as TimelineEntry).id;
      await this.outbox.setCursor(CURSOR, cursor);
      if (entries.length < TIMELINE_PAGE) return;
    }
  }

  private async deliver(delivery: WebhookDelivery): Promise<void> {
    const endpoint: WebhookEndpoint | undefined = this.config.endpoints.find((e) => e.url === delivery.url);
    const fields = { deliveryId: delivery.key, url: delivery.url, attempt: delivery.attempts + 1 };
    const at = this.now();
    if (!endpoint) {
      await this.outbox.markFailed(delivery.id, at, "the endpoint is no longer configured", null);
      this.metrics.webhookDeliveries.inc({ result: "failed" });
      this.log.error(fields, "webhook given up: the endpoint is no longer configured");
      return;
    }
    let result: string;
    let ok = false;
    try {
      const response = await fetch(delivery.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "bms-telemetry-webhooks/1",
          "x-bms-delivery": delivery.key,
          "x-bms-event": (JSON.parse(delivery.body) as WebhookBody).event,
          [SIGNATURE_HEADER]: signWebhook(endpoint.secret, delivery.body, at),
        },
        body: delivery.body,
        signal: AbortSignal.timeout(this.config.timeoutMs),
        redirect: "error",
      });
      await response.body?.cancel().catch(() => undefined);
      ok = response.status >= 200 && response.status < 300;
      result = `HTTP ${response.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      result =
        err instanceof Error && err.name === "TimeoutError"
          ? `no answer within ${this.config.timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? (err as Error).message);
    }
    if (ok) {
      await this.outbox.markDelivered(delivery.id, this.now(), result);
      this.metrics.webhookDeliveries.inc({ result: "delivered" });
      this.log.info({ ...fields, result }, "webhook delivered");
      return;
    }
    const attempts = delivery.attempts + 1;
    if (attempts >= this.config.maxAttempts) {
      await this.outbox.markFailed(delivery.id, this.now(), result, null);
      this.metrics.webhookDeliveries.inc({ result: "failed" });
      this.log.error({ ...fields, result }, `webhook given up after ${attempts} attempts`);
      return;
    }
    const backoff = exponentialDelay({ minMs: this.config.initialBackoffMs, maxMs: this.config.maxBackoffMs }, attempts) * (0.9 + Math.random() * 0.2);
    await this.outbox.markFailed(delivery.id, this.now(), result, this.now() + Math.round(backoff));
    this.metrics.webhookDeliveries.inc({ result: "retry" });
    this.log.warn({ ...fields, result, retryInMs: Math.round(backoff) }, "webhook failed; retrying");
  }
}
