import { decodePylontechFrames, OPTIONAL_IDS, REQUIRED_IDS } from "../can/pylontech-decoder";
import type { ReceivedFrame, SlcanTransport } from "../transports/slcan-transport";
import type { DeviceReader, DeviceReading } from "./device-reader";

export interface CanDeviceReaderOptions {
  /** Added to every frame ID on this bus (several BMSes on one bus). @default 0 */
  canIdOffset?: number;
  /** @default 1 */
  currentSign?: 1 | -1;
  /** How long to wait for a fresh set of frames, ms. */
  timeoutMs: number;
}

/**
 * The `pylontech-can` profile: a BMS that broadcasts the Pylontech frames about once a second. Each
 * read waits for a set of frames newer than the last read's (0x351, 0x355, 0x356, 0x359 required),
 * so one broadcast gives one sample and a stale frame never passes for a fresh one.
 */
export class CanDeviceReader implements DeviceReader {
  readonly endpoint: string;
  private since = 0;
  private identitySent = false;
  private readonly offset: number;

  constructor(
    private readonly transport: SlcanTransport,
    private readonly options: CanDeviceReaderOptions,
  ) {
    this.offset = options.canIdOffset ?? 0;
    this.endpoint = this.offset === 0 ? transport.endpoint : `${transport.endpoint} +0x${this.offset.toString(16)}`;
  }

  async read(): Promise<DeviceReading> {
    const frames = await this.transport.frames({
      required: REQUIRED_IDS.map((id) => id + this.offset),
      optional: OPTIONAL_IDS.map((id) => id + this.offset),
      since: this.since,
      timeoutMs: this.options.timeoutMs,
    });
    const own = new Map<number, ReceivedFrame>();
    for (const [id, frame] of frames) own.set(id - this.offset, frame);
    const ts = Math.max(...REQUIRED_IDS.map((id) => own.get(id)?.at ?? 0));
    const decoded = decodePylontechFrames(own, ts, { currentSign: this.options.currentSign ?? 1 });
    this.since = ts;
    const reading: DeviceReading = { ts, sample: decoded.sample };
    if (!this.identitySent) {
      reading.identity = decoded.manufacturer ? { manufacturer: decoded.manufacturer } : {};
      this.identitySent = true;
    }
    return reading;
  }

  reset(): void {
    this.identitySent = false;
  }
}
