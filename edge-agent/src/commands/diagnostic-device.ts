import type { DeviceProfile } from "@bms/shared/device-profile";
import type { DeviceReader } from "../readers/device-reader";
import type { ParameterBus } from "./parameter-access";

/**
 * One pack as remote diagnosis reaches it: a reader of its own (alarms before and after a reset,
 * the capture's samples) beside the poller's, its registers where it has them (Modbus), and the
 * profile that declares its parameters, event log and alarm reset (its register profile, or a
 * SunSpec device's diagnostics profile).
 */
export interface DiagnosticDevice {
  packId: string;
  reader: DeviceReader;
  /** Absent for a CAN device: nothing can be read or written by address. */
  bus?: ParameterBus;
  profile?: DeviceProfile;
}
