import { type Logger, PackMeta, PackSample } from "@bms/shared";
import type { DeviceConfig } from "@bms/shared/config/edge-agent-config";
import { decodePackMeta, decodePackSample } from "./sunspec/sunspec-decoder";
import { SunSpecDecodeError, SunSpecDiscoveryError } from "./sunspec/sunspec-errors";
import { SunSpecReader } from "./sunspec/sunspec-reader";
import type { RegisterTransport } from "./transports/register-transport";
import { BadReplyError, isConnectionError, ModbusExceptionError } from "./transports/transport-errors";

export interface DeviceHealth {
  packId: string;
  state: "ok" | "failing";
  lastError?: string;
  /** ms since the epoch of the last published sample. */
  lastSampleAt?: number;
  consecutiveFailures: number;
  /** Replies that decoded to an implausible or malformed sample: reported, counted, never published. */
  rejectedSamples: number;
}

/** A reply that decoded, but to a sample outside physical bounds (a 65 V cell). */
export class ImplausibleSampleError extends Error {
  override readonly name = "ImplausibleSampleError";
}

export interface DevicePollerOptions {
  siteId: string;
  device: DeviceConfig;
  transport: RegisterTransport;
  /** @default 1000 */
  pollIntervalMs: number;
  /** @default 1000 */
  retryMinMs: number;
  /** @default 30000 */
  retryMaxMs: number;
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

/**
 * Reads one pack: discover once, then read every pollIntervalMs. A device that stops answering is
 * retried with exponential backoff (retryMinMs doubling to retryMaxMs) and discovered again when
 * it returns. One log line when it goes down, one when it comes back; never throws.
 */
export class DevicePoller {
  private readonly reader: SunSpecReader;
  private readonly status: DeviceHealth;
  private everOk = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastLoggedError: string | undefined;

  constructor(private readonly options: DevicePollerOptions) {
    const unitId = options.device.transport.unitId;
    this.reader = new SunSpecReader(options.transport, unitId);
    this.status = { packId: options.device.packId, state: "failing", consecutiveFailures: 0, rejectedSamples: 0 };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  health(): DeviceHealth {
    return { ...this.status };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      let wait: number;
      try {
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
    const { device } = this.options;
    const needMeta = this.reader.map === undefined;
    const snap = await this.reader.read(needMeta);
    if (needMeta) {
      const meta = PackMeta.safeParse(
        decodePackMeta({
          ...snap,
          ts: snap.ts,
          ...(device.chemistry ? { chemistry: device.chemistry } : {}),
          ...(device.warrantyStart ? { warrantyStart: device.warrantyStart } : {}),
          ...(device.warrantyEnd ? { warrantyEnd: device.warrantyEnd } : {}),
        }),
      );
      if (!meta.success) {
        this.reader.invalidate();
        throw new ImplausibleSampleError(`pack identity does not validate: ${summarise(meta.error.issues)}`);
      }
      if (this.stopped) return;
      this.options.onMeta(meta.data);
    }
    const decoded = decodePackSample(snap.battery, snap.modules, snap.ts, 0);
    const parsed = PackSample.safeParse(decoded);
    if (!parsed.success) throw new ImplausibleSampleError(`implausible sample: ${summarise(parsed.error.issues)}`);
    if (this.stopped) return;
    // The sequence number is only spent on samples that are published: a gap downstream means loss.
    this.options.onSample({ ...parsed.data, seq: this.options.nextSeq() });
    this.status.lastSampleAt = Date.now();
  }

  private succeeded(): void {
    const wasFailing = this.status.consecutiveFailures > 0;
    this.status.state = "ok";
    this.status.consecutiveFailures = 0;
    this.status.lastError = undefined;
    this.lastLoggedError = undefined;
    const { siteId, device } = this.options;
    if (wasFailing) this.options.log.info({ siteId, packId: device.packId }, "device answering again");
    else if (!this.everOk) this.options.log.info({ siteId, packId: device.packId }, "device answering");
    this.everOk = true;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  private failed(err: unknown): number {
    const message = err instanceof Error ? err.message : String(err);
    const { siteId, device, log, pollIntervalMs, retryMinMs, retryMaxMs } = this.options;
    const wasOk = this.status.state === "ok" || this.status.consecutiveFailures === 0;
    this.status.state = "failing";
    this.status.consecutiveFailures += 1;
    this.status.lastError = message;

    const badReply = err instanceof BadReplyError || err instanceof SunSpecDecodeError || err instanceof ImplausibleSampleError;
    if (badReply) this.status.rejectedSamples += 1;
    // Registers refused or a broken map: the map may have moved; after a reconnect it surely must be re-read.
    if (!badReply || err instanceof ModbusExceptionError) this.reader.invalidate();

    const fields = { siteId, packId: device.packId, err: message, consecutiveFailures: this.status.consecutiveFailures };
    if (wasOk) log.warn(fields, badReply ? "device sends bad replies" : "device not answering");
    else if (badReply && message !== this.lastLoggedError) log.warn(fields, "device sends bad replies");
    else if (!isConnectionError(err) && !(err instanceof SunSpecDiscoveryError) && !badReply && message !== this.lastLoggedError) {
      log.error(fields, "unexpected error while polling");
    }
    this.lastLoggedError = message;

    // The device answers, but nonsense: keep the normal pace (it may be a transient glitch).
    if (badReply) return pollIntervalMs;
    const exponent = Math.min(this.status.consecutiveFailures - 1, 30);
    return Math.min(retryMaxMs, retryMinMs * 2 ** exponent);
  }
}
