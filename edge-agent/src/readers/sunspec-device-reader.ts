import { decodeIdentity, decodePackSample } from "../sunspec/sunspec-decoder";
import type { DiscoveryOptions } from "../sunspec/sunspec-discovery";
import { SunSpecReader } from "../sunspec/sunspec-reader";
import type { RegisterTransport } from "../transports/register-transport";
import type { DeviceReader, DeviceReading } from "./device-reader";

/** The `sunspec` profile: discovered models 1, 802, 803/804 and 805 at one unit ID. */
export class SunSpecDeviceReader implements DeviceReader {
  private readonly reader: SunSpecReader;
  readonly endpoint: string;

  constructor(transport: RegisterTransport, unitId: number, options: DiscoveryOptions = {}) {
    this.reader = new SunSpecReader(transport, unitId, options);
    this.endpoint = `${transport.endpoint} unit ${unitId}`;
  }

  async read(): Promise<DeviceReading> {
    const discovering = this.reader.map === undefined;
    const snap = await this.reader.read(discovering);
    const sample = decodePackSample(snap.battery, snap.modules, snap.ts, 0, { ...(snap.bank ? { bank: snap.bank } : {}), strings: snap.strings });
    return { ts: snap.ts, sample, ...(discovering ? { identity: decodeIdentity(snap) } : {}) };
  }

  reset(): void {
    this.reader.invalidate();
  }
}
