import type { DeviceProfile } from "@bms/shared/device-profile";
import { decodeProfileIdentity, decodeProfileSample, RegisterImage } from "../profiles/profile-decoder";
import { type PlannedRead, planReads } from "../profiles/read-plan";
import { type RegisterTransport, readRegisters } from "../transports/register-transport";
import type { DeviceReader, DeviceReading } from "./device-reader";

/**
 * A BMS read through a declarative register profile: the sample's registers every poll, in as few
 * requests as the blocks and the 125-register limit allow; the identity's on the first read and
 * after a reset.
 */
export class ProfileDeviceReader implements DeviceReader {
  readonly endpoint: string;
  readonly samplePlan: readonly PlannedRead[];
  readonly identityPlan: readonly PlannedRead[];
  private identityRead = false;

  constructor(
    private readonly transport: RegisterTransport,
    private readonly unitId: number,
    private readonly profile: DeviceProfile,
  ) {
    this.endpoint = `${transport.endpoint} unit ${unitId}`;
    this.samplePlan = planReads(profile, "sample");
    this.identityPlan = planReads(profile, "identity");
  }

  async read(): Promise<DeviceReading> {
    const image = new RegisterImage();
    const fetch = async (plan: readonly PlannedRead[]) => {
      for (const r of plan) image.put(r.space, r.address, await readRegisters(this.transport, r.space, this.unitId, r.address, r.count));
    };
    const withIdentity = !this.identityRead;
    if (withIdentity) await fetch(this.identityPlan);
    await fetch(this.samplePlan);
    const ts = Date.now();
    const sample = decodeProfileSample(this.profile, image, ts);
    const reading: DeviceReading = { ts, sample };
    if (withIdentity) {
      reading.identity = { manufacturer: this.profile.manufacturer ?? "", ...decodeProfileIdentity(this.profile, image) };
      this.identityRead = true;
    }
    return reading;
  }

  reset(): void {
    this.identityRead = false;
  }
}
