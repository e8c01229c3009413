import type { AgentClock, AgentStatus, Logger, SiteStatus } from "@bms/shared";
import type { DeviceHealth } from "./device-poller";
import type { OutboxPublisher } from "./outbox-publisher";

/** The agent's counters, as published in its retained site status (shared/src/site-status.ts). */
export function agentStatusOf(outbox: OutboxPublisher, devices: readonly DeviceHealth[], clock?: AgentClock): AgentStatus {
  const oldestQueuedTs = outbox.oldestTs();
  return {
    queueDepth: outbox.size(),
    ...(oldestQueuedTs !== undefined ? { oldestQueuedTs } : {}),
    published: outbox.published,
    dropped: outbox.dropped,
    queueBytes: outbox.bytes(),
    devices: devices.map((d) => ({
      packId: d.packId,
      state: d.state,
      polls: d.polls,
      errors: d.errors,
      implausible: d.implausible,
      ...(d.lastError !== undefined ? { lastError: d.lastError.slice(0, 500) } : {}),
      ...(d.lastOkTs !== undefined ? { lastOkTs: d.lastOkTs } : {}),
    })),
    ...(clock ? { clock } : {}),
  };
}

export function statusPayload(state: SiteStatus["state"], agent?: AgentStatus): string {
  const status: SiteStatus = { state, ts: Date.now(), ...(agent ? { agent } : {}) };
  return JSON.stringify(status);
}

export interface StatusReporterOptions {
  siteId: string;
  log: Logger;
  /** Republish the retained status this often, ms. */
  intervalMs: number;
  /** Log the counters this often, ms. */
  logIntervalMs: number;
  status(): AgentStatus;
  /** Publishes the retained `online` status with the counters (when connected). */
  publish(payload: string): void;
}

/** Republishes the retained `online` status with the counters, and logs them, on timers. */
export class StatusReporter {
  private readonly publishTimer: NodeJS.Timeout;
  private readonly logTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: StatusReporterOptions) {
    this.publishTimer = setInterval(() => this.publishNow(), options.intervalMs);
    this.logTimer = setInterval(() => this.logNow(), options.logIntervalMs);
    this.publishTimer.unref();
    this.logTimer.unref();
  }

  /** Publishes `online` with the counters now; nothing once stopped (the shutdown publishes `offline` last). */
  publishNow(): void {
    if (this.stopped) return;
    try {
      this.options.publish(statusPayload("online", this.options.status()));
    } catch (err) {
      this.options.log.warn({ siteId: this.options.siteId, err: (err as Error).message }, "could not publish the agent status");
    }
  }

  logNow(): void {
    const { devices, ...outbox } = this.options.status();
    this.options.log.info(
      {
        siteId: this.options.siteId,
        ...outbox,
        devices: devices.map((d) => ({ packId: d.packId, state: d.state, polls: d.polls, errors: d.errors, implausible: d.implausible })),
      },
      "agent status",
    );
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.publishTimer);
    clearInterval(this.logTimer);
  }
}
