import type { RegisterSpace } from "@bms/shared/device-profile";
import type { SimulatedDevice } from "../simulated-device";

/**
 * A register map over a device: reads and writes in 0-based protocol addresses. Both throw
 * ModbusException (0x02 outside the map or read-only, 0x03 bad value) for the server to answer.
 */
export interface RegisterMap {
  readonly name: string;
  /** `space`: function 3 (holding, the default) or 4 (input); a SunSpec map answers both alike. */
  read(device: SimulatedDevice, address: number, count: number, space?: RegisterSpace): number[];
  write(device: SimulatedDevice, address: number, values: readonly number[]): void;
}
