import { type Logger, PackMeta, type PackSample } from "@bms/shared";
import type { DeviceConfig, PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import { type Flag, PlausibilityFilter } from "./plausibility-filter";
import { DecodeError } from "./readers/decode-error";
import type { DeviceReader } from "./readers/device-reader";
import { composePackMeta } from "./readers/pack-meta-composer";
import { SunSpecDiscoveryError } from "./sunspec/sunspec-errors";
import { BadReplyError, isConnectionError, ModbusExceptionError } from "./transports/transport-errors";

export interface DeviceHealth {
  packId: string;
  /** Where it is read: transport endpoint and address. */
  endpoint: string;
  state: "ok" | "failing";
  lastError?: string;
  /** ms since the epoch of the last published sample. */
  lastSampleAt?: number;
  /** ms since the epoch of the last poll that the device answered in full. */
  lastOkTs?: number;
  consecutiveFailures: number;
  /** Polls since start, and how many failed (timeout, bad reply, link down, impossible sample). */
  polls: number;
  errors: number;
  /** Readings kept out of samples by the plausibility filter. */
  implausible: number;
  /** Whole samples rejected as impossible (also counted in implausible). */
  rejectedSamples: number;
}

/** A reply that decoded, but to a sample outside physical bounds (a 65 V cell). */
export class ImplausibleSampleError extends Error {
  override readonly name = "ImplausibleSampleError";
}

export interface DevicePollerOptions {
  siteId: string;
  device: DeviceConfig;
  reader: DeviceReader;
  /** @default 1000 */
  pollIntervalMs: number;
  /** @default 1000 */
  retryMinMs: number;
  /** @default 30000 */
  retryMaxMs: number;
  plausibility: PlausibilityConfig;
  log: Logger;
  /** The next per-agent sequence number (persisted by the caller). */
  nextSeq(): number;
  onSample(sample: PackSample): void;
  onMeta(meta: PackMeta): void;
}

function summarise(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/** The device answered, but not with what it should have: keep the pace, it may be a glitch. */
function isBadReply(err: unknown): boolean {
  return err instanceof BadReplyError || err instanceof DecodeError || err instanceof ImplausibleSampleError;
}

const flagKey = (flags: readonly Flag[]) =>
  flags
    .map((f) => `${f.field}${f.index === undefined ? "" : `.${f.index}`}:${f.kind}`)
    .sort()
    .join(",");

/**
 * Reads one pack through its DeviceReader every pollIntervalMs, filters the readings for
 * plausibility and hands validated samples on with their sequence numbers. A device that stops
 * answering is retried with exponential backoff (retryMinMs doubling to retryMaxMs) and read afresh
 * (discovery, identity) when it returns. One log line when it goes down, one when it comes back;
 * never throws.
 */
export class DevicePoller {
  private readonly status: DeviceHealth;
  private readonly filter: PlausibilityFilter;
  private everOk = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastLoggedError: string | undefined;
  private lastLoggedFlags = "";

  constructor(private readonly options: DevicePollerOptions) {
    const { device, reader, pollIntervalMs, plausibility } = options;
    this.status = {
      packId: device.packId,
      endpoint: reader.endpoint,
      state: "failing",
      consecutiveFailures: 0,
      polls: 0,
      errors: 0,
      implausible: 0,
      rejectedSamples: 0,
    };
    // Jumps are judged against a sample from the last few polls only.
    this.filter = new PlausibilityFilter(plausibility, Math.max(3 * pollIntervalMs, 10_000));
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops polling; samples the filter still holds under suspicion are dropped and counted. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    this.countDropped(this.filter.discardHeld());
  }

  health(): DeviceHealth {
    return { ...this.status };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      let wait: number;
      try {
        this.status.polls += 1;
        await this.pollOnce();
        this.succeeded();
        wait = Math.max(0, this.options.pollIntervalMs - (Date.now() - started));
      } catch (err) {
        wait = this.failed(err);
      }
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async pollOnce(): Promise<void> {
    const { device, reader } = this.options;
    const reading = await reader.read();
    if (reading.identity) {
      const meta = PackMeta.safeParse(composePackMeta(reading.identity, device, reading.ts));
      if (!meta.success) {
        reader.reset();
        this.status.implausible += 1;
        throw new ImplausibleSampleError(`pack identity does not validate: ${summarise(meta.error.issues)}`);
      }
      if (this.stopped) return;
      this.options.onMeta(meta.data);
    }
    const verdict = this.filter.check(reading.sample);
    this.countDropped(verdict.dropped);
    if (verdict.confirmed.length > 0) {
      this.options.log.info(
        { siteId: this.options.siteId, packId: device.packId, readings: verdict.confirmed.map((f) => f.reason).slice(0, 5), released: verdict.release.length },
        "suspect readings persisted: believed and published",
      );
    }
    if (verdict.rejected) {
      this.status.rejectedSamples += 1;
      throw new ImplausibleSampleError(verdict.rejected);
    }
    if (this.stopped) return;
    // The sequence number is only spent on samples that are published: a gap downstream means loss.
    for (const sample of verdict.release) this.options.onSample({ ...sample, seq: this.options.nextSeq() });
    if (verdict.release.length > 0) this.status.lastSampleAt = Date.now();
  }

  /** Counts readings kept out for good, and logs once per distinct set of them. */
  private countDropped(flags: readonly Flag[]): void {
    if (flags.length === 0) return;
    this.status.implausible += flags.length;
    const key = flagKey(flags);
    if (key === this.lastLoggedFlags) return;
    this.lastLoggedFlags = key;
    const { siteId, device } = this.options;
    this.options.log.warn(
      { siteId, packId: device.packId, readings: flags.slice(0, 10).map((f) => f.reason), implausible: this.status.implausible },
      "implausible readings kept out of the samples",
    );
  }

  private succeeded(): void {
    const wasFailing = this.status.consecutiveFailures > 0;
    this.status.state = "ok";
    this.status.consecutiveFailures = 0;
    this.status.lastError = undefined;
    this.status.lastOkTs = Date.now();
    this.lastLoggedError = undefined;
    const { siteId, device } = this.options;
    if (wasFailing) this.options.log.info({ siteId, packId: device.packId, endpoint: this.status.endpoint }, "device answering again");
    else if (!this.everOk) this.options.log.info({ siteId, packId: device.packId, endpoint: this.status.endpoint }, "device answering");
    this.everOk = true;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  private failed(err: unknown): number {
    const message = err instanceof Error ? err.message : String(err);
    const { siteId, device, log, pollIntervalMs, retryMinMs, retryMaxMs, reader } = this.options;
    const wasOk = this.status.state === "ok" || this.status.consecutiveFailures === 0;
    this.status.state = "failing";
    this.status.consecutiveFailures += 1;
    this.status.errors += 1;
    this.status.lastError = message;

    const badReply = isBadReply(err);
    // Registers refused or a broken map: the map may have moved; after a reconnect it surely must be read again.
    if (!badReply || err instanceof ModbusExceptionError) reader.reset();

    const fields = { siteId, packId: device.packId, endpoint: this.status.endpoint, err: message, consecutiveFailures: this.status.consecutiveFailures };
    if (wasOk) log.warn(fields, badReply ? "device sends bad replies" : "device not answering");
    else if (badReply && message !== this.lastLoggedError) log.warn(fields, "device sends bad replies");
    else if (!isConnectionError(err) && !(err instanceof SunSpecDiscoveryError) && !badReply && message !== this.lastLoggedError) {
      log.error(fields, "unexpected error while polling");
    }
    this.lastLoggedError = message;

    if (badReply) return pollIntervalMs;
    const exponent = Math.min(this.status.consecutiveFailures - 1, 30);
    return Math.min(retryMaxMs, retryMinMs * 2 ** exponent);
  }
}
