import type { DeviceProfile } from "@bms/shared/device-profile";
import { profileRegisterMap } from "./profile-register-map";
import type { RegisterMap } from "./register-map";
import { sunspecRegisterMap } from "./sunspec-register-map-adapter";

/** Which register map a Modbus server presents: SunSpec at 40000, or a vendor profile's map. */
export type ModbusMapSetting = "sunspec" | DeviceProfile;

export function registerMapFor(setting: ModbusMapSetting): RegisterMap {
  return setting === "sunspec" ? sunspecRegisterMap() : profileRegisterMap(setting);
}
